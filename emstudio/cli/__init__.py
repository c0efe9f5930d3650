"""`emstudio <command>`: the argparse front end. No Qt import unless the command is the GUI."""
