"""Neural building blocks with no notion of a signal: Fourier features, the multiresolution hash grid (with
exact Jacobians), MLPs (one that carries forward tangents), spherical harmonics, TensoRF factors, ODE solvers."""
