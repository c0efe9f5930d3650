"""Entry script of the packaged (frozen) application: the same `emstudio` executable."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # first, before anything else runs in a child process
    from emstudio.cli.main import main

    sys.exit(main())
