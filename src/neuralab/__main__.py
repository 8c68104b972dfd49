"""`python -m neuralab`: what torchrun starts in each worker (`torchrun ... -m neuralab train ...`)."""

from neuralab.cli.main import main

if __name__ == "__main__":
    main()
