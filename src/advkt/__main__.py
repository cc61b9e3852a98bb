import sys

from advkt.cli import main

sys.exit(main())
