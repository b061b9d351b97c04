"""Wide research: a question whose answer is a table ("every X with A, B, C").

The graph nodes, in order: `table_plan_node` (planning), `enumerate_node` (enumeration: rows
found inside documents), `fill_node` (one branch per row), `coverage_node` (open rows settled,
empty cells followed up), `table_answer_node` (the table and its sources)."""

from agent.wide.answer import table_answer_node
from agent.wide.coverage import coverage_node, route_coverage
from agent.wide.enumeration import enumerate_node, route_enumeration
from agent.wide.fill import fill_node
from agent.wide.planning import table_plan_node

__all__ = [
    "coverage_node",
    "enumerate_node",
    "fill_node",
    "route_coverage",
    "route_enumeration",
    "table_answer_node",
    "table_plan_node",
]
