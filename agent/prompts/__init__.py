"""Prompt files live here, next to the code that uses them.

Each file has a `# system` and a `# user` section; `$name` placeholders are filled with
`string.Template` (so JSON braces in examples need no escaping). Always available: `$today`, the
current date (ISO), so the model knows what "recent" and "now" mean, and `$collection`, what
the search tool searches (the local collection unless the caller says the web too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from string import Template

from agent.llm.base import Message

LOCAL_COLLECTION = "a local document collection with a keyword (BM25) search engine"
WEB_COLLECTION = (
    "the web (through web search engines) and a local document collection, with keyword queries"
)


@dataclass(frozen=True)
class Prompt:
    name: str
    system: Template
    user: Template

    def render(self, **values: object) -> list[Message]:
        text = {k: str(v) for k, v in values.items()}
        text.setdefault("today", date.today().isoformat())
        text.setdefault("collection", LOCAL_COLLECTION)
        return [
            Message("system", self.system.substitute(text).strip()),
            Message("user", self.user.substitute(text).strip()),
        ]


@cache
def load_prompt(name: str) -> Prompt:
    raw = resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    if "# system" not in raw or "# user" not in raw:
        raise ValueError(f"prompt {name}.md needs '# system' and '# user' sections")
    _, rest = raw.split("# system", 1)
    system_text, user_text = rest.split("# user", 1)
    return Prompt(name, Template(system_text), Template(user_text))
