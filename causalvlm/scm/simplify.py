"""Rewrite estimands into shorter equal ones, using only identities of probability (never the graph).

Rules, applied bottom-up:

1. products are flattened and factors equal to 1 dropped (P(∅ | B) = 1);
2. nested sums merge, Σ_A Σ_B e = Σ_{A∪B} e, and a sum over a variable its body does not use is kept
   (Σ_w c = k_w c is not 1, so it is never silently dropped);
3. **marginalising a head**: Σ_w P(A | B) g = P(A \\ w | B) g when w ∈ A and no other factor uses w
   (and Σ_w moves into the one sum that uses w);
4. factors that do not use a summed variable move out of the sum: Σ_w f g(w) = f Σ_w g(w);
5. **chain rule** (``merge=True`` only): P(A | B) P(C | A, B) = P(A, C | B);
6. **quotients**: equal factors of numerator and denominator cancel, and P(A, B | C) / P(B | C) = P(A | B, C).

Rule 5 is left for the final pass: during the ID recursion a conditional of a product is computed as a
quotient of two sums, whose factors cancel only while the chain is still unmerged.
"""

from __future__ import annotations

from causalvlm.scm.estimand import ONE, Prob, Quotient, Sum, Term, product


def simplify(term: Term, merge: bool = False) -> Term:
    """An equal term after rules 1–6 (rule 5 only with ``merge``)."""
    if isinstance(term, Prob):
        return ONE if not term.head else term
    if isinstance(term, Sum):
        return sum_out(term.over, simplify(term.body, merge), merge)
    if isinstance(term, Quotient):
        return divide(simplify(term.numerator, merge), simplify(term.denominator, merge))
    factors = [simplify(f, merge) for f in term.factors()]
    merged = product(factors)
    return product(merge_chains(list(merged.factors()))) if merge else merged


def sum_out(over: frozenset[str], body: Term, merge: bool = False) -> Term:
    """Σ_over body, simplified by rules 2–5."""
    if not over:
        return body
    if isinstance(body, Sum):
        return sum_out(over | body.over, body.body, merge)
    remaining = set(over)
    factors = list(body.factors())
    changed = True
    while changed:
        changed = False
        if merge:
            factors = merge_chains(factors)
        for w in sorted(remaining):
            users = [i for i, f in enumerate(factors) if w in f.free]
            if not users:
                continue  # Σ_w of a term without w multiplies by k_w: keep the sum (rule 2)
            only = factors[users[0]]
            if len(users) == 1 and isinstance(only, Prob) and w in only.head:
                factors[users[0]] = Prob(only.head - {w}, only.given)
                remaining.discard(w)
                changed = True
            elif len(users) == 1 and isinstance(only, Sum):  # Σ_w Σ_V g = Σ_{V∪w} g when only g uses w
                factors[users[0]] = sum_out(only.over | {w}, only.body, merge)
                remaining.discard(w)
                changed = True
        factors = [f for f in factors if f != ONE and not (isinstance(f, Prob) and not f.head)]
    if not remaining:
        return product(factors)
    inside = [f for f in factors if f.free & remaining]
    outside = [f for f in factors if not f.free & remaining]
    if not inside:
        return product([*outside, Sum(frozenset(remaining), ONE)])
    return product([*outside, Sum(frozenset(remaining), product(inside))])


def merge_chains(factors: list[Term]) -> list[Term]:
    """Rule 5: repeatedly join P(A | B) and P(C | A ∪ B) into P(A ∪ C | B)."""
    factors = list(factors)
    found = True
    while found:
        found = False
        for i, first in enumerate(factors):
            if not isinstance(first, Prob):
                continue
            scope = first.head | first.given
            for j, second in enumerate(factors):
                if j != i and isinstance(second, Prob) and second.given == scope and not second.head & scope:
                    factors[i] = Prob(first.head | second.head, first.given)
                    del factors[j]
                    found = True
                    break
            if found:
                break
    return factors


def divide(numerator: Term, denominator: Term) -> Term:
    """Rule 6: cancel equal factors, then P(A, B | C) / P(B | C) = P(A | B, C)."""
    top = list(numerator.factors())
    bottom = []
    for factor in denominator.factors():
        if factor in top:
            top.remove(factor)
        else:
            bottom.append(factor)
    if not bottom:
        return product(top)
    if len(top) == 1 and len(bottom) == 1:
        a, b = top[0], bottom[0]
        if isinstance(a, Prob) and isinstance(b, Prob) and a.given == b.given and b.head < a.head:
            return Prob(a.head - b.head, a.given | b.head)
    return Quotient(product(top), product(bottom))
