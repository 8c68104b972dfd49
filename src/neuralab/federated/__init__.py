"""Federated learning on Flower: clients that never share their data train one model together.

`partition` splits a training set among simulated clients (IID or label-skewed by a Dirichlet
draw); `flower` holds the ClientApp and ServerApp that Flower's simulation engine runs; `run`
turns a neuralab config into a federated run folder like any other.
"""
