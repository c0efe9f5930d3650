"""``python -m emstudio``: same as the ``emstudio`` executable."""

from emstudio.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
