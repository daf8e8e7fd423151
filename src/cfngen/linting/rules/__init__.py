"""cfngen's own cfn-lint rules, one rule per file named after its class; `cfngen.linting` loads this directory.

Ids E9101.. are cfngen's (cfn-lint leaves E9xxx to custom rules).
"""

from __future__ import annotations

from pathlib import Path

RULES_DIRECTORY = Path(__file__).resolve().parent
