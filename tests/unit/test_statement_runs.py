"""The PostgreSQL recorder sends a run of the same statement as one executemany:
the runs must give back every statement, in order, each run one SQL text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lethe.projections.store import runs_of_same_sql

statements = st.lists(
    st.tuples(
        st.sampled_from(["UPDATE a SET x = ?", "UPDATE b SET y = ?", "INSERT c"]),
        st.tuples(st.integers()),
    )
)


@given(statements, st.integers(min_value=1, max_value=5))
def test_runs_give_back_every_statement_in_order(page: list, most: int) -> None:
    runs = list(runs_of_same_sql(page, most))
    assert [(sql, p) for sql, params in runs for p in params] == page
    assert all(0 < len(params) <= most for _, params in runs)
    # Maximal runs: two runs side by side share their SQL only when the first is full.
    assert all(
        a[0] != b[0] or len(a[1]) == most for a, b in zip(runs, runs[1:], strict=False)
    )


def test_a_page_of_orders_is_one_run_between_other_statements() -> None:
    page = [("INSERT c", ())] + [("UPDATE a SET x = ?", (n,)) for n in range(3)]
    page.append(("INSERT c", ()))
    assert list(runs_of_same_sql(page)) == [
        ("INSERT c", [()]),
        ("UPDATE a SET x = ?", [(0,), (1,), (2,)]),
        ("INSERT c", [()]),
    ]
