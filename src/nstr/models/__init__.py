"""Coordinate networks. Importing this package registers every built-in model by name."""

from nstr.models.base import Field, ModelConfig, option
from nstr.models.dinr import (
    DINR,
    DINRFFN,
    DINRConfig,
    DINRFFNConfig,
    DINROfficial,
    DINROfficialConfig,
    DINRSiren,
    DINRSirenConfig,
)
from nstr.models.ffn import FourierMLP, FourierMLPConfig
from nstr.models.gaussians import Gaussians2D, GaussiansConfig
from nstr.models.hashgrid import HashGridConfig, HashGridField
from nstr.models.nerf import NeRFHashGrid, NeRFNSTR, NeRFTriPlane, RadianceModel, RenderConfig
from nstr.models.nstr import NSTR, NSTRConfig, NSTRPaper, NSTRPaperConfig
from nstr.models.registry import MODELS, build_model, model_class, register
from nstr.models.siren import SIREN, SIRENConfig

__all__ = [
    "Field", "ModelConfig", "option", "MODELS", "build_model", "model_class", "register",
    "SIREN", "SIRENConfig", "FourierMLP", "FourierMLPConfig", "HashGridField", "HashGridConfig",
    "Gaussians2D", "GaussiansConfig",
    "NSTR", "NSTRConfig", "NSTRPaper", "NSTRPaperConfig",
    "RadianceModel", "RenderConfig", "NeRFNSTR", "NeRFHashGrid", "NeRFTriPlane",
    "DINR", "DINRConfig", "DINRFFN", "DINRFFNConfig", "DINROfficial", "DINROfficialConfig", "DINRSiren",
    "DINRSirenConfig",
]
