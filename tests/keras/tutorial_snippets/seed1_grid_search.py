# 《深度学习入门》(../shared/seeds/001) "超参数调整与网格搜索", verbatim but for the import lines. The
# tutorial leaves `model`, `x_train` and `y_train` to the reader: a KerasClassifier over a small
# network on scikit-learn's digits, defined first.
from sklearn.datasets import load_digits
from neuralab.keras.layers import Dense
from neuralab.keras.models import Sequential
from neuralab.keras.wrappers.scikit_learn import KerasClassifier
def build_fn(optimizer="adam", activation="relu", learning_rate=0.001):
    net = Sequential([Dense(32, activation=activation, input_shape=(64,)), Dense(10, activation="softmax")])
    net.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return net
x_train, y_train = load_digits(return_X_y=True)
x_train = x_train[:600] / 16.0
y_train = y_train[:600]
model = KerasClassifier(build_fn=build_fn, epochs=3, batch_size=32, verbose=0)

from sklearn.model_selection import GridSearchCV
parameters = {
'optimizer': ['adam', 'rmsprop'],
'activation': ['relu', 'tanh'],
'learning_rate': [0.001, 0.01]
}
grid_search = GridSearchCV(estimator=model, param_grid=parameters, cv=3, verbose=1)
grid_search.fit(x_train, y_train)

# -- not in the tutorial: what the test checks --
import json
print(json.dumps({"best_params": grid_search.best_params_, "candidates": len(grid_search.cv_results_["params"])}))
