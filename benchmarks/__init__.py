"""Benchmark jaxdl's logistic solvers against scikit-learn, statsmodels, glum and optax.

Every figure is a ratio of two timings taken side by side in this one run (the machine is
shared, so absolute seconds mean little).

Scoring. A timed solver is scored only if (1) it reports convergence by its own test (jaxdl:
``FitResult.ok``; scikit-learn and glum: ``n_iter_ < max_iter`` and no ConvergenceWarning;
statsmodels: ``mle_retvals["converged"]``; the optax loop: its own gradient test) and (2) its
coefficients meet the stated gradient rule on one common float64 objective ``F``
(:func:`jaxdl.logistic.loss` summed over the rows, plus ``l2/2 ||w||^2`` where penalised):
``||grad F||_inf <= TOL_MEAN_GRAD * n``. A solver that fails either is reported with the reason
and gets no ratio. The losses of all solvers must then pass the gate, computed from the measured
gradients (see :func:`score`)::

    F(x_i) - min_j F(x_j)  <=  ||g_i||_2^2 / (2 mu_i)  +  err_i  +  err_best
    mu_i  = lambda_min(H(x_i)) - R ||g_i||_2,     R = max_n ||[x_n; 1]||_2
    err   = u ((n + 4) F + (d + 2) sum_n (|x_n| . |w| + |b|))           (u = 2^-53)

The first term bounds the suboptimality ``F(x_i) - F*`` (strong convexity on the segment from
``x_i`` to the minimiser: the logistic loss has ``|phi'''| <= R phi''`` along any unit
direction, so the curvature there stays above ``mu_i``); ``err`` bounds the float64 rounding of
one evaluation of ``F``. A case whose losses break the gate is invalid.

Timing: the first call of each solver is timed on its own; JAX's in-memory caches are cleared at
the start of each case, so a JAX solver's first call includes tracing and compilation (what a
user sees on the first call in a fresh process, bar one-time lazy initialisation, which falls on
the first case run; the first_call case measures truly fresh processes). Solvers that share a
compiled program share its compilation. The warm time is the best (min) of ``--repeats``
further calls, taken round-robin across the solvers of a case so that a change in machine load
hits all of them alike; each timed call directly follows an untimed call of the same solver, so
no solver is timed cold from the one before it (see ``_race``). Compilation overhead is
``first - warm``. In the cv case a solver whose first call takes more than ``CV_ONCE_S``
seconds is timed once, without repeats (they would take many minutes): a peer by that call (it
has nothing to compile), a JAX solver by one more call. No persistent compilation cache is used,
except in the first_call case, which measures it.

Cases (default sizes; ``--quick`` shrinks them to a smoke test that still scores every solver):

  newton          fit_newton vs scikit-learn newton-cholesky, statsmodels Logit (Newton) and
                  glum irls-cd and irls-ls, N x d
  first_order     jaxdl solver table (JAXDL_SOLVERS) vs scikit-learn lbfgs, optax.lbfgs and
                  glum lbfgs, warm and first call
  gd_step         fit_gd per-step time (float32) vs the bandwidth bound 2 x t(X @ v)
  bootstrap_fits  256 Newton fits (64 bootstrap resamples x 4 l2) in one call of
                  fit_newton_many (resamples as count weights on the shared X) vs a
                  scikit-learn loop on the resampled rows, on standardised breast cancer
  hessian         closed-form logistic.hessian vs jax.hessian of the loss
  memory          peak RSS of an eager logistic.fit_newton(X, y) in a fresh process,
                  relative to the bytes of X
  sweep           the gd-rates sweep (jaxdl.sweep: 16 x 16 (lr_w, lr_b), 5000 steps, breast
                  cancer) in one run vs a Python loop of fit_gd calls with the same settings;
                  the floor (the same batched GD arithmetic with no stop test or status) vs
                  that loop; and a sweep chunked to a memory bound: XLA's bytes vs the bound
  first_call      fit_newton first-call overhead in a fresh process, without and with the
                  persistent compilation cache
  cv              cross-validation of the penalty (5 stratified folds, 10 penalties, refit):
                  logistic and K-class cross_validate vs scikit-learn's LogisticRegressionCV
                  (newton-cholesky, lbfgs) and glum's GeneralizedLinearRegressorCV (binary),
                  the same folds and grid; refits scored and gated at the chosen penalty,
                  chosen penalties, held-out scores and refits compared (not in the default
                  ``--quick`` run: name it)
  notebooks       every notebook top to bottom in a fresh kernel without a compilation cache,
                  float64 and float32 (``--quick``: float64 only), one after another: each
                  notebook's time (not in the default ``--quick`` run: name it)

Usage::

  python scripts/bench.py                      # all cases, full size (minutes)
  python scripts/bench.py --quick              # seconds; every solver scored, targets printed
  python scripts/bench.py --cases newton,first_order --repeats 5 --json-out out.json --strict

Exit status: 0, or 1 if a case is invalid (the losses break the gate, a jaxdl solver is not
scored, or the case raised), or 2 with ``--strict`` when a target is missed at full size
(targets are printed, never enforced, otherwise; quick sizes never enforce them).

A peer that cannot run in the environment (its library does not import, or the versions
installed break it: glum's lbfgs passes scipy's removed ``iprint``) is reported UNAVAILABLE, with
its error, and gets no ratio; it never makes a case invalid. A jaxdl solver that raises does.

Layout: :mod:`benchmarks.config` (the rule, sizes, targets), :mod:`benchmarks.peers` (the
solver adapters), :mod:`benchmarks.timing` (the harness), :mod:`benchmarks.gate` (the
certificate, the score and the gate), :mod:`benchmarks.cases` (one module per case),
:mod:`benchmarks.children` (the fresh-process measurements), :mod:`benchmarks.report` (the
table and the JSON), :mod:`benchmarks.cli` (the flags) and :mod:`benchmarks.internals` (the
only uses of jaxdl's private names).
"""
