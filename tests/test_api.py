"""The public API imports (the command line is tested in tests/test_cli.py)."""

import jaxdl


def test_public_names():
    for name in jaxdl.__all__:
        assert hasattr(jaxdl, name), name
    for mod, names in {
        "logistic": ["loss", "grad", "hessian", "fit_gd", "fit_newton", "fit_lbfgs",
                     "fit_newton_many", "predict_proba", "predict", "accuracy"],
        "softmax": ["softmax", "jacobian", "cross_entropy", "ce_grad", "ce_hessian", "fit_gd",
                    "fit_newton", "fit_lbfgs", "fit_newton_many", "predict_proba", "predict",
                    "accuracy"],
        "checks": ["assert_psd", "assert_symmetric", "is_psd", "is_symmetric"],
        "results": ["Status", "FitResult", "NewtonResult", "message", "raise_if_failed"],
    }.items():
        m = getattr(jaxdl, mod)
        for n in names:
            assert callable(getattr(m, n)), f"jaxdl.{mod}.{n}"
