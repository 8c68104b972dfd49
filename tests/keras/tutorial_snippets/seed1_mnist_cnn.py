# 《深度学习入门》(../shared/seeds/001) "实战案例:图像分类", verbatim but for the import lines
# (tensorflow.keras -> neuralab.keras). Data: $NEURALAB_DATA/mnist (the test writes a small one).
import numpy as np
from neuralab.keras.datasets import mnist
from neuralab.keras.utils import to_categorical
# 加载MNIST数据集
(x_train, y_train), (x_test, y_test) = mnist.load_data()
# 数据预处理
x_train = x_train.astype('float32') / 255
x_test = x_test.astype('float32') / 255
# 调整数据维度
x_train = x_train.reshape(-1, 28, 28, 1)
x_test = x_test.reshape(-1, 28, 28, 1)
# 一热编码目标变量
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)
from neuralab.keras.models import Sequential
from neuralab.keras.layers import Conv2D, MaxPooling2D, Flatten, Dense
model = Sequential([
Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)),
MaxPooling2D(pool_size=(2, 2)),
Conv2D(64, (3, 3), activation='relu'),
MaxPooling2D(pool_size=(2, 2)),
Flatten(),
Dense(10, activation='softmax')
])
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=10, batch_size=32, validation_data=(x_test, y_test))

# -- not in the tutorial: what the test checks --
import json
print(json.dumps({"params": model.count_params(), "test_accuracy": model.evaluate(x_test, y_test, verbose=0)[1]}))
