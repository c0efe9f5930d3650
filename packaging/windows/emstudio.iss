; Inno Setup script for emstudio on Windows (build on Windows: see packaging/windows/README.md).
; Input: the PyInstaller one-folder build in dist\emstudio (make package on Windows, or
;   pyinstaller packaging\emstudio.spec && python packaging\slim.py dist\emstudio).
; Output: dist\emstudio-<version>-setup.exe, installing for all users into Program Files with a
; Start menu entry, an optional desktop icon, and an uninstaller.
#define AppVersion GetEnv("EMSTUDIO_VERSION")
#if AppVersion == ""
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6C0B5F7E-2F3B-4C8B-9E57-0E5C7A1B9D21}
AppName=emstudio
AppVersion={#AppVersion}
AppPublisher=emstudio
DefaultDirName={autopf}\emstudio
DefaultGroupName=emstudio
PrivilegesRequired=admin
ArchitecturesInstallIn64BitMode=x64compatible
ArchitecturesAllowed=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=emstudio-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\emstudio.ico
UninstallDisplayIcon={app}\emstudio.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "Create a desktop icon"; Flags: unchecked

[Files]
Source: "..\..\dist\emstudio\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\emstudio"; Filename: "{app}\emstudio.exe"; IconFilename: "{app}\emstudio.exe"
Name: "{group}\emstudio self-test"; Filename: "{app}\emstudio.exe"; Parameters: "--self-test"
Name: "{group}\Uninstall emstudio"; Filename: "{uninstallexe}"
Name: "{autodesktop}\emstudio"; Filename: "{app}\emstudio.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\emstudio.exe"; Description: "Start emstudio"; Flags: nowait postinstall skipifsilent
