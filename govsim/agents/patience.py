"""Citizens who wait too long give up (放弃): patience with a case past its feedback deadline.

The service standard promises feedback by a deadline (docs/FACTS.md). A citizen whose case is still
open after it gives up with hazard ``waiting.give_up_per_day`` per day (patience beyond the deadline
is exponential, as a caller's on the hotline, Erlang A). Giving up marks the case ``abandoned``
(the platform does not know: it stays in the units' queues and may still be solved) and the citizen
learns a failure at once, exactly as from a case closed unsolved (trust and efficacy fall,
:meth:`govsim.agents.citizen.Citizens.learn`). Cases found by patrols are nobody's filing and never
given up. The draws are arrays over the day's filings; nothing loops over cases.
"""

from __future__ import annotations

import numpy as np

from govsim.cases import IS_FINISHED, PATROL, CaseStore


class Patience:
    """When the citizen of each filed case gives up, if the case is still open then.

    Args:
        give_up_per_day: The hazard (0: nobody gives up, and nothing is drawn).

    Attributes:
        seen: Cases filed so far whose give-up time has been drawn (store indices below it).
    """

    def __init__(self, give_up_per_day: float) -> None:
        self.rate = give_up_per_day
        self.seen = 0
        self._case = np.zeros(0, dtype=np.int64)
        self._at = np.zeros(0)

    def note_filed(self, cases: CaseStore, rng: np.random.Generator) -> None:
        """Draw the give-up times of the cases filed since the last call.

        Args:
            cases: The case store.
            rng: The citizens' stream.
        """
        lo, self.seen = self.seen, cases.n
        if self.rate <= 0 or lo == cases.n:
            return
        ids = np.arange(lo, cases.n)
        hi = cases.n
        ids = ids[~cases.consultation[lo:hi] & (cases.channel[lo:hi] != PATROL)]
        if not len(ids):
            return
        at = cases.deadline[ids] + rng.standard_exponential(len(ids)) / self.rate
        self._case = np.concatenate([self._case, ids])
        self._at = np.concatenate([self._at, at])

    def give_up(self, day_end: float, cases: CaseStore) -> np.ndarray:
        """Cases whose citizen gives up before ``day_end`` while still open; marks them.

        Returns:
            The ids of the cases given up today.
        """
        if not len(self._at):
            return self._case[:0]
        due = self._at < day_end
        if not due.any():
            return self._case[:0]
        ids = self._case[due]
        self._case, self._at = self._case[~due], self._at[~due]
        ids = ids[~IS_FINISHED[cases.state[ids]] & ~cases.abandoned[ids]]
        cases.abandoned[ids] = True
        return ids
