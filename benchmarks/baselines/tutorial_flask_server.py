"""The tutorial's Flask server (../shared/seeds/000_*.txt part 6.3), kept as written, as a baseline only.

It unpickles a whole model with torch.load and trusts its input: never run it on a real network.
Usage: python tutorial_flask_server.py MODEL_PTH PORT
"""

import io
import sys

import torch
import torchvision.transforms as transforms
from flask import Flask, jsonify, request
from PIL import Image

app = Flask(__name__)
# 加载模型 (the tutorial's torch.load of a pickled model; weights_only=False is what it relies on)
model = torch.load(sys.argv[1], weights_only=False)
model.eval()
# 图像预处理
transform = transforms.Compose(
    [transforms.Resize(28), transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
)


@app.route("/predict", methods=["POST"])
def predict():  # type: ignore[no-untyped-def]
    if "file" not in request.files:
        return jsonify({"error": "No file uploaded"}), 400
    file = request.files["file"]
    image = Image.open(io.BytesIO(file.read()))
    # 预处理
    input_tensor = transform(image).unsqueeze(0)
    # 预测
    with torch.no_grad():
        output = model(input_tensor)
        _, predicted = torch.max(output, 1)
    return jsonify({"prediction": predicted.item()})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[2]))
