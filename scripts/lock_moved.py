"""Says what moved between two sets of lock files: `python scripts/lock_moved.py OLD_DIR NEW_DIR`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*([^\\#]+?))?\s*(?:\\|#|$)")


def pins(lock: Path) -> dict[str, str]:
    """name (with its environment marker, where one pin is for some Pythons only) -> version."""
    found = {}
    for line in lock.read_text().splitlines() if lock.exists() else []:
        match = PIN.match(line)
        if match:
            name, version, marker = match.groups()
            found[name.lower() + (f" ; {marker.strip()}" if marker else "")] = version
    return found


def moved(old: dict[str, str], new: dict[str, str]) -> list[str]:
    lines = [f"  {name}: {old[name]} -> {new[name]}" for name in sorted(old.keys() & new.keys())
             if old[name] != new[name]]
    lines += [f"  {name}: new, {new[name]}" for name in sorted(new.keys() - old.keys())]
    lines += [f"  {name}: gone (was {old[name]})" for name in sorted(old.keys() - new.keys())]
    return lines


def main() -> None:
    old_dir, new_dir = Path(sys.argv[1]), Path(sys.argv[2])
    for lock in sorted(new_dir.glob("*.lock")):
        if not (old_dir / lock.name).exists():
            print(f"{lock.as_posix()}: a new lock, {len(pins(lock))} pins")
            continue
        changes = moved(pins(old_dir / lock.name), pins(lock))
        print(f"{lock.as_posix()}: " + (f"{len(changes)} moved" if changes else "nothing moved"))
        for change in changes:
            print(change)


if __name__ == "__main__":
    main()
