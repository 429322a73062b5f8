"""Pieces of radiance fields: view-direction encoding, density activation, occupancy grid, TensoRF factors."""
