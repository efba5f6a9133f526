"""dp_helpers: the math of the data-programming book, small and tested.

Label convention everywhere: +1 / -1 votes, 0 = abstain. TensorFlow is imported only by the
functions that need it, so the label model's NumPy paths load in a fraction of a second.
"""
from .book import fill, format_interval, glue, mean_interval, read_markdown_tables, say, show
from .class_conditional import ClassConditionalLabelModel, from_snorkel, sample_from_tables, to_snorkel
from .datasets import YouTubeSpam, load_youtube_spam
from .diagnostics import correlated_pairs, estimate_class_prior, overlap_residuals
from .end_model import (
    build_logistic_regression,
    build_mlp,
    noise_aware_loss,
    predict_proba,
    set_seed,
    train,
)
from .label_model import (
    ConvergenceWarning,
    LabelModel,
    NotFittedError,
    OneClassLFWarning,
    TFFit,
    accuracy,
    check_identifiable,
    fit_signed_accuracies_closed_form,
    fit_signed_accuracies_tf,
    lf_components,
    log_odds,
    majority_vote,
    posterior,
    resolve_sign,
    resolve_signs,
)
from .labeling import LabelingFunction, apply_lfs, labeling_function, lf_summary
from .overlaps import OverlapStats, overlap_matrix, overlap_stats
from .plots import plot_accuracy_recovery, plot_label_matrix, use_book_style
from .synthetic import SyntheticData, make_original_tutorial_data, make_synthetic
from . import scale  # noqa: E402  (imports Dask only when its functions run)
from .scale import LabelingFunctionError, VectorizedLF, vectorized_lf

__version__ = "0.1.0"
