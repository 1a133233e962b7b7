"""Print log lines full of terminal tricks (S19), on stdout and on stderr.

    python escapes_program.py

Colours and a screen clear (CSI), a window title and an OSC 8 hyperlink, an OSC 52 clipboard
write, a DCS string, an 8-bit CSI, a bell, a backspace, and a carriage return that would hide
``rm -rf ~`` behind an innocent text on a terminal. Exits 0.
"""

from __future__ import annotations

import sys

LINES = [
    "\x1b[31mred\x1b[0m and \x1b[2J\x1b[Hcleared",
    "\x1b]0;pwned title\x07title",
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "\x1b]52;c;cm0gLXJmIH4K\x07clipboard",
    "\x1bP+q544e\x1b\\dcs",
    "\u009b31m8-bit csi",
    "bell\x07 and back\x08space",
    "rm -rf ~\rinnocent text   ",
]


def main() -> int:
    for line in LINES:
        print(line, flush=True)
    print("\x1b[1mon stderr\x1b[0m", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
