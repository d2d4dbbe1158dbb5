"""SELU's constants (Klambauer et al. 2017) to 32 significant digits, as PyTorch uses them."""

SELU_ALPHA_DECIMAL = "1.6732632423543772848170429916717"
SELU_SCALE_DECIMAL = "1.0507009873554804934193349852946"
#: SELU's alpha, as PyTorch uses it.
SELU_ALPHA = float(SELU_ALPHA_DECIMAL)
#: SELU's scale, as PyTorch uses it.
SELU_SCALE = float(SELU_SCALE_DECIMAL)
