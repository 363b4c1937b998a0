"""Every table of the sandbox: importing this module puts them all on `Base.metadata` (schema, migrations, wipe)."""

from __future__ import annotations

from simulator import faults as _faults  # noqa: F401
from simulator.core import journal as _journal  # noqa: F401
from simulator.core.store import Base
from simulator.dakota import models as _dakota  # noqa: F401
from simulator.sumsub import models as _sumsub  # noqa: F401
from simulator.webhooks import models as _webhooks  # noqa: F401

metadata = Base.metadata
