"""The verification trial count of every registry caller in the suite.

``jaxdl.verify.core.check`` compiles one error program per identity group, dtype and trial
count, so callers that agree on the count share their programs (test_verify, test_mutation,
test_properties, test_extremes, the topic modules and the command line's verify tests). Trial
0's input does not depend on the count: its key is the first of the seed's split, the same for
every count, so a seed's first input is always checked.
"""

TRIALS = 2
