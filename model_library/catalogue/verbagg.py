"""The verbal aggression data set, shared by the ordinal, IRT and latent class entries."""

__all__ = ["VERBAGG_DESCRIPTION", "VERBAGG_ITEMS"]

VERBAGG_DESCRIPTION = (
    "Verbal aggression (De Boeck & Wilson 2004; lme4's VerbAgg): persons answered whether "
    "they would (\"do\") or would want to (\"want\") curse, scold or shout in frustrating "
    "situations caused by themselves or by others; r2 is 1 for \"yes\" or \"perhaps\". "
)

#: the 24 items of the wide data (``verbagg_wide.csv``), as the right-hand side of ``=~``
VERBAGG_ITEMS = " + ".join(f"i{number}" for number in range(1, 25))
