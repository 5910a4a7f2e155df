"""Settings shared by every case: the gradient rule, the gate, sizes and targets."""

import numpy as np

# Every solver that has a gradient tolerance stops at this per-sample mean-gradient size
# (max-norm of grad / n; optax's loop is given the same rule), and every solver is scored
# against it on the common objective.
TOL_MEAN_GRAD = 1e-7
# statsmodels' Newton stops on the change in the parameters (its default, made explicit); it is
# scored by the same gradient rule as everyone else.
STATSMODELS_TOL = 1e-8
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2  # u = 2^-53
GATE_FORMULA = (
    "F(x_i) - min_j F(x_j) <= ||g_i||_2^2 / (2 mu_i) + err_i + err_best; "
    "mu_i = lambda_min(H(x_i)) - R ||g_i||_2, R = max_n ||[x_n; 1]||_2; "
    "err = u ((n + 4) F + (d + 2) sum_n (|x_n|.|w| + |b|)), u = 2^-53")
RULE = f"||grad F||_inf <= {TOL_MEAN_GRAD:g} * n"
SEED = 0
L2_GRID = (0.1, 1.0, 10.0, 100.0)
GD_GTOL = 1e-30  # fit_gd runs all its steps
HESSIAN_RTOL = 1e-10
MICRO_REPEATS = 10  # at least this many repeats for the millisecond-scale kernels

# The cv case: 5 stratified folds, one grid of 10 penalties, every solver at the mean-gradient
# tolerance CV_TOL (scikit-learn's tol, glum's gradient_tol, jaxdl's gtol), K classes for the
# K-class races. A solver whose first call took longer than CV_ONCE_S seconds is timed once
# (a peer by that call, a JAX solver by one more): repeats would take many minutes.
CV_TOL = 1e-8
CV_FOLDS = 5
CV_L2 = tuple(float(v) for v in np.logspace(-2, 3, 10))
CV_CLASSES = 10
CV_SCALE = 3.0  # make_logistic / make_multiclass's scale
CV_MAX_ITER = 1000  # scikit-learn's and glum's iteration budget per fit
CV_RTOL = 1e-6  # refit coefficients and held-out scores: max |diff| / max |value|
CV_ONCE_S = 30.0
# Up to this n d, jaxdl's two solvers are also timed by name, and each peer also with its
# native thread pools limited to one thread (full sizes only).
CV_NAMED_UP_TO = 1_000_000

SIZES = {
    "full": dict(n=200_000, d=200, n_hess=10_000, d_hess=200, resamples=64, gd_steps=50,
                 n_mem=200_000, d_mem=200, sweep_rates=16, sweep_steps=5000,
                 cv_binary=((2_000, 20), (20_000, 50), (200_000, 200)),
                 cv_classes=((2_000, 20), (20_000, 50))),
    # Memory in quick mode: X of 40 MB, and n d^2 large enough for fit_newton's mixed path
    # (the one the full size takes); small X would drown in allocator noise.
    "quick": dict(n=2_000, d=20, n_hess=1_000, d_hess=20, resamples=2, gd_steps=50,
                  n_mem=50_000, d_mem=100, sweep_rates=4, sweep_steps=300,
                  cv_binary=((500, 10),), cv_classes=((500, 10),),
                  notebook_dtypes=("float64",)),
}

TARGETS = {
    "newton_vs_sklearn": 3.0,       # fit_newton >= 3x faster than sklearn newton-cholesky
    "newton_vs_statsmodels": 5.0,   # ... >= 5x faster than statsmodels Logit Newton
    "newton_vs_glum": 5.0,          # ... >= 5x faster than glum irls-cd
    "first_order_warm": 1.2,        # fastest jaxdl solver >= 1.2x faster than the faster peer
    "first_order_first_call": 5.0,  # jaxdl first call >= 5x faster than optax.lbfgs's
    "gd_step": 1.3,                 # fit_gd per step <= 1.3 x (2 t(X @ v))
    "bootstrap_fits": 10.0,         # 256 fits in one call >= 10x faster than a sklearn loop
    "hessian": 5.0,                 # closed-form Hessian >= 5x faster than jax.hessian
    "memory": 1.5,                  # (peak RSS - RSS before X) / bytes(X) <= 1.5
    "first_call": 1.0,              # first-call overhead < 1 s
    "sweep": 20.0,                  # gd-rates sweep >= 20x faster than a loop of fit_gd
    "sweep_memory": 1.0,            # a chunk's bytes / max_memory <= 1
    # cross_validate (10 penalties x 5 folds + refit) >= these x faster than the faster of
    # scikit-learn's LogisticRegressionCV newton-cholesky and lbfgs, by n x d
    "cv_small": 10.0,               # 2000 x 20
    "cv_medium": 3.0,               # 20000 x 50
    "cv_large": 2.0,                # 200000 x 200
    "notebook": 45.0,               # each notebook, each dtype, fresh kernel: < 45 s
}
# The cv target of each size (quick sizes use the smallest's).
CV_TARGET_OF = {(2_000, 20): "cv_small", (20_000, 50): "cv_medium", (200_000, 200): "cv_large"}

