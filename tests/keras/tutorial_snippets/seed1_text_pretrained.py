# 《深度学习入门》(../shared/seeds/001) "词嵌入与文本表示" and "使用预训练的模型", verbatim but for the
# import lines and one line: `tf.keras.applications.xlnet` exists in no Keras, so the embedding matrix
# is read from a local word-vectors file (GloVe's text format) the usual Keras way, marked below.
# The tutorial leaves `texts`, `labels`, `maxlen`, `embedding_dim` and `num_classes` to the reader:
# they come from $SNIPPET_TEXTS (a JSON file the test writes).
import json
import os
import numpy as np
from neuralab.keras.utils import to_categorical
corpus = json.load(open(os.environ["SNIPPET_TEXTS"], encoding="utf-8"))
texts, labels = corpus["texts"], to_categorical(corpus["labels"])
maxlen, embedding_dim, num_classes = 100, corpus["embedding_dim"], labels.shape[1]

from neuralab.keras.preprocessing.text import Tokenizer
from neuralab.keras.preprocessing.sequence import pad_sequences
# 初始化Tokenizer
tokenizer = Tokenizer(num_words=10000)
tokenizer.fit_on_texts(texts)
# 转换文本为序列
sequences = tokenizer.texts_to_sequences(texts)
# 对序列填充或截断,使所有序列长度相等
padded_sequences = pad_sequences(sequences, maxlen=100)
import neuralab as tf
# 加载预训练的词嵌入模型 -- replaced: read the vectors file instead of the nonexistent xlnet module
vectors = {line.split()[0]: np.asarray(line.split()[1:], dtype="float32")
           for line in open(corpus["vectors"], encoding="utf-8")}
embedding_matrix = np.zeros((len(tokenizer.word_index) + 1, embedding_dim))
for word, i in tokenizer.word_index.items():
    if word in vectors:
        embedding_matrix[i] = vectors[word]
# 构建模型
input_layer = tf.keras.layers.Input(shape=(maxlen,))
embedding_layer = tf.keras.layers.Embedding(len(tokenizer.word_index) + 1,
embedding_dim,
weights=[embedding_matrix],
input_length=maxlen,
trainable=False)(input_layer)
l_lstm = tf.keras.layers.LSTM(32)(embedding_layer)
output_layer = tf.keras.layers.Dense(num_classes, activation='softmax')(l_lstm)
model = tf.keras.Model(inputs=input_layer, outputs=output_layer)
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(padded_sequences, labels, epochs=10, batch_size=32, validation_split=0.2)

# -- not in the tutorial: what the test checks --
frozen = model.ordered_layers()[0].embedding.weight
print(json.dumps({"accuracy": model.evaluate(padded_sequences, labels, verbose=0)[1],
                  "embedding_unchanged": bool(np.allclose(frozen.detach().numpy(), embedding_matrix, atol=1e-6))}))
