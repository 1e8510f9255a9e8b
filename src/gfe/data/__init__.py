"""Files → recordings: locate the UCI dataset (dataset 317) and load it exactly as distributed.

UCI layout: ``{signer}_{expression}_datapoints.txt`` holds a header line and one line per frame
(a timestamp and 100 landmarks × x, y, z), ``{signer}_{expression}_targets.txt`` one 0/1 label
per frame. Signer a's doubt-question labels are spelled ``a_doubts_question_targets.txt``; both
spellings are accepted.

Unknown values are written ``nan`` (timestamps of the two reconstructed files, x/y of 588
frames of ``a_relative``) and Kinect writes ``z = 0`` when depth is lost. Both are counted and
reported here and never replaced by numbers: what to do with them is the feature spec's choice.

Where the dataset is (:func:`locate_dataset`): ``--data-dir``, ``$GFE_DATA_DIR``, else the per-user
cache, which holds UCI's archive after ``gfe data download`` or, unpacked there on first use, the
copy bundled with gfe (:mod:`gfe.data.bundled`). Only ``gfe data download`` uses the network.
"""

from gfe.data.dataset import (
    check_dataset,
    find_targets,
    load_dataset,
    load_recording,
    locate_dataset,
    read_file,
)
from gfe.data.files import (
    N_VALUES,
    is_header,
    is_number,
    load_datapoints,
    load_targets,
    parse_frame_values,
    split_values,
)
from gfe.data.location import (
    BUNDLED_MARKER,
    DATA_ENV,
    cache_dir,
    data_dir_source,
    dataset_present,
    is_bundled_copy,
    resolve_data_dir,
)
from gfe.data.names import check_expression, check_signer, datapoints_name, parse_names, targets_names
from gfe.data.recording import Recording

__all__ = [
    "BUNDLED_MARKER",
    "DATA_ENV",
    "N_VALUES",
    "Recording",
    "cache_dir",
    "check_dataset",
    "check_expression",
    "check_signer",
    "data_dir_source",
    "datapoints_name",
    "dataset_present",
    "find_targets",
    "is_bundled_copy",
    "is_header",
    "is_number",
    "load_datapoints",
    "load_dataset",
    "load_recording",
    "load_targets",
    "locate_dataset",
    "parse_frame_values",
    "parse_names",
    "read_file",
    "resolve_data_dir",
    "split_values",
    "targets_names",
]
