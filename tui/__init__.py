"""wideseek's terminal research assistant (Textual).

from tui import WideseekApp
WideseekApp().run()
"""

from tui.app import WideseekApp
from tui.progress import RunProgress

__all__ = ["RunProgress", "WideseekApp"]
