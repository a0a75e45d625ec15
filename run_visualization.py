"""Start CapsNet Visualizer: `python run_visualization.py [--host 127.0.0.1] [--port 5000] ...`.

Loads the model once and serves the page and the JSON API with waitress (a production WSGI server;
Flask's development server is never used here)."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# model.weights.MODELS_DIR, spelled out here because importing model.weights imports torch.
MODELS_DIR = Path(__file__).resolve().parent / "weights"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1", help="address to bind; 0.0.0.0 exposes the tool to your network")
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--weights", default=str(MODELS_DIR),
                    help="a weights file, a model folder (one *.pt with its manifest, gallery, report and capsule "
                         "statistics) or a folder of model folders, each served under its folder's name in "
                         "alphabetical order, the first as the default")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=4, help="request worker threads")
    ap.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                    help="a host name (or address) browsers may use to reach the server besides localhost, "
                         "127.0.0.1 and [::1]; repeatable; needed with --host 0.0.0.0 (others are refused, "
                         "which stops DNS rebinding)")
    ap.add_argument("--allow-untrained", action="store_true",
                    help="development only: serve a randomly initialised model if no weights are wanted")
    return ap.parse_args(argv)


def _allowed_hosts(args: argparse.Namespace) -> list[str]:
    """--allowed-host names, and the address bound when it is a specific one (not a wildcard)."""
    bound = [] if args.host in ("0.0.0.0", "::", "localhost", "127.0.0.1", "::1") else [args.host]
    return [f"[{h}]" if ":" in h and not h.startswith("[") else h for h in [*bound, *args.allowed_host]]


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not 1 <= args.port <= 65535:
        print(f"error: --port {args.port} is not a TCP port (1..65535)", file=sys.stderr)
        return 2
    if args.threads < 1:
        print("error: --threads must be at least 1", file=sys.stderr)
        return 2
    # Imported late so that --help answers without loading torch.
    import waitress

    from app import create_app
    from model.weights import WeightsError

    try:
        app = create_app({"WEIGHTS": args.weights, "DEVICE": args.device, "ALLOW_UNTRAINED": args.allow_untrained,
                          "ALLOWED_HOSTS": tuple(_allowed_hosts(args))})
    except (WeightsError, ValueError) as e:
        # One line, whatever the underlying library put in its message (torch.load's span several).
        print("error: " + " ".join(str(e).split()), file=sys.stderr)
        return 1
    shown = "localhost" if args.host in ("127.0.0.1", "localhost") else args.host
    print(f"CapsNet Visualizer: open http://{shown}:{args.port}", flush=True)
    if args.host in ("0.0.0.0", "::") and not args.allowed_host:
        print("note: only requests addressed to localhost are answered; add --allowed-host NAME for each name "
              "other machines use to reach this one", flush=True)
    try:
        # The body limit at the door: waitress refuses a body declared larger than the app's cap before
        # reading it (its own text/plain 413), instead of buffering it for Flask to refuse.
        waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident="capsnet-visualizer",
                       max_request_body_size=app.config["MAX_CONTENT_LENGTH"])
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{args.port} ({e.strerror or e})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
