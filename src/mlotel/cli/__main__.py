import sys

from mlotel.cli import main

sys.exit(main())
