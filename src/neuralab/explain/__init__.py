"""Why a model decided what it did: CAMs, gradient and perturbation attributions, overlays.

Grad-CAM and Grad-CAM++ are written here (small, and Captum has no Grad-CAM++); saliency,
integrated gradients, occlusion, LIME and Kernel SHAP come from Captum.
"""

from neuralab.explain.explainer import METHODS, Explanation, explain_batch, explain_files

__all__ = ["METHODS", "Explanation", "explain_batch", "explain_files"]
