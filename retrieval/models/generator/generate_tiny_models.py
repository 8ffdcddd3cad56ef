#!/usr/bin/python3
"""Generate tiny BERT-shaped ONNX models for Switchyard's retrieval tests (no pretrained weights exist offline).

Writes two Hugging Face-style local model folders (the layout @huggingface/transformers reads with
env.localModelPath and onnxruntime-node loads directly):

  <out>/tiny-bert-embedder/      config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx
      input_ids, attention_mask, token_type_ids (int64 [batch, seq]) -> last_hidden_state (float [batch, seq, H])
  <out>/tiny-cross-encoder/      same files
      input_ids, attention_mask, token_type_ids -> logits (float [batch, 1])

The weights are random, but the word-embedding table has *planted* concept clusters (words such as
"authentication", "login", "password" share a centre) and the transformer layers are weak residual perturbations,
so mean-pooled sentence vectors of texts about the same concept are close (the embedder's output also projects out
the shared function-word direction, so stop words and sub-word characters weigh little). The cross-encoder is the same BERT stack
followed by a planted head: cosine between the mean of segment A (query) and segment B (passage) tokens, scaled.
It is *not* a trained model: it only makes the tests' notions of "related" deterministic and checkable.

Run with Debian's python (python3-onnx + python3-numpy, onnx 1.12, opset 17):
  /usr/bin/python3 retrieval/models/generator/generate_tiny_models.py retrieval/models/fixtures
  /usr/bin/python3 .../generate_tiny_models.py /tmp/minilm --hidden 384 --layers 6 --heads 12 --intermediate 1536
    (a MiniLM-L6-shaped random model for benchmarks; not committed)
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
STOP_WORDS = (
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that these "
    "those i you he she we they me my your our their what which who whom how why when where do does did done can "
    "could should would will shall may might must not no yes so than then there here up down out over under about "
    "into onto after before again all any both each few more most other some such only own same too very just also "
    "set get use using used make"
).split()
CLUSTERS = {
    "auth": "authentication authenticate authenticated auth login logins log sign signin signon password passwords "
    "credential credentials oauth sso session sessions token tokens identity user users account accounts flow "
    "mfa logout verify",
    "network": "network networking connection connections connect connected refused socket sockets port ports tcp "
    "http https timeout timeouts dns proxy firewall latency packet err conn",
    "database": "database databases sql query queries table tables postgres sqlite mysql schema index indexes "
    "migration migrations transaction transactions row rows column columns",
    "deploy": "deploy deploys deployment deployments kubernetes container containers docker pod pods cluster "
    "clusters helm image images rollout release releases server servers",
    "billing": "billing bill invoice invoices payment payments price prices pricing cost costs charge charges "
    "subscription subscriptions refund refunds card money",
    "cooking": "cooking cook recipe recipes bake baking oven flour sugar butter egg eggs bread cake dinner kitchen "
    "soup salt pepper",
    "weather": "weather rain rainy snow sunny storm storms cloud clouds wind forecast temperature cold hot summer "
    "winter",
    "animals": "cat cats dog dogs bird birds fish horse horses pet pets animal animals zoo wild",
    "search": "search retrieval retrieve ranking rank rerank embedding embeddings vector vectors bm25 hybrid chunk "
    "chunks document documents keyword keywords semantic",
    "code": "function functions class classes method methods return returns variable variables import export module "
    "modules python typescript javascript def const let async await",
}
OTHER_WORDS = (
    "information insufficient answer answers question questions example examples error errors code codes message "
    "messages time date day days year years number numbers first second last new old good bad high low big small "
    "system systems service services data file files page pages guide guides help support team teams product "
    "products feature features issue issues bug bugs fix fixes test tests run running start stop open close read "
    "write update delete create list show find work works working change changes config configuration setting "
    "settings option options value values name names type types text word words line lines part parts step steps "
    "world people place thing things way ways week month hour minute second seconds today tomorrow yesterday "
    "because while until through between during without within against among around however therefore"
).split()


def build_vocab():
    vocab = list(SPECIAL)
    chars = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    punct = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    vocab += chars + punct + ["##" + c for c in chars]
    seen = set(vocab)
    for word in STOP_WORDS + [w for ws in CLUSTERS.values() for w in ws.split()] + OTHER_WORDS:
        if word not in seen:
            seen.add(word)
            vocab.append(word)
    return vocab


def tokenizer_json(vocab, max_length):
    ids = {token: index for index, token in enumerate(vocab)}
    special = [
        {"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for t in SPECIAL
    ]
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": max_length, "strategy": "LongestFirst", "stride": 0},
        "padding": None,
        "added_tokens": special,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


def planted_word_embeddings(vocab, hidden, rng):
    """Cluster words share a centre; stop words and specials share one 'function word' direction."""
    table = rng.normal(0.0, 1.0, (len(vocab), hidden)).astype(np.float32)
    function_direction = rng.normal(0.0, 1.0, hidden)
    centres = {name: rng.normal(0.0, 1.0, hidden) for name in CLUSTERS}
    cluster_of = {w: name for name, ws in CLUSTERS.items() for w in ws.split()}
    for index, token in enumerate(vocab):
        if token in cluster_of:
            table[index] = 2.0 * centres[cluster_of[token]] + 0.6 * rng.normal(0.0, 1.0, hidden)
        elif token in STOP_WORDS or token in SPECIAL or len(token.lstrip("#")) == 1:
            table[index] = function_direction + 0.1 * rng.normal(0.0, 1.0, hidden)
    return table, function_direction


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.counter = [], [], 0

    def name(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, array, prefix="c"):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, prefix=None, **attrs):
        out = self.name(prefix or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x, w, b):
        return self.op("Add", [self.op("MatMul", [x, self.const(w, "w")]), self.const(b, "b")])

    def layer_norm(self, x, hidden):
        return self.op("LayerNormalization", [x, self.const(np.ones(hidden, np.float32), "ln_g"),
                                              self.const(np.zeros(hidden, np.float32), "ln_b")],
                       axis=-1, epsilon=1e-12)


def bert_encoder(g, args, vocab, rng):
    hidden, heads = args.hidden, args.heads
    head_dim = hidden // heads
    words, function_direction = planted_word_embeddings(vocab, hidden, rng)
    scale = args.layer_scale
    emb = g.op("Gather", [g.const(words, "word_embeddings"), "input_ids"], axis=0)
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const(np.array(1, np.int64))], axis=0)
    positions = g.op("Range", [g.const(np.array(0, np.int64)), seq_len, g.const(np.array(1, np.int64))])
    pos_table = (0.02 * rng.normal(0.0, 1.0, (args.max_positions, hidden))).astype(np.float32)
    pos = g.op("Gather", [g.const(pos_table, "position_embeddings"), positions], axis=0)
    types = g.op("Gather", [g.const((0.02 * rng.normal(0, 1, (2, hidden))).astype(np.float32), "token_type_embeddings"),
                            "token_type_ids"], axis=0)
    x = g.layer_norm(g.op("Add", [g.op("Add", [emb, pos]), types]), hidden)
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    additive = g.op("Mul", [g.op("Sub", [g.const(np.array(1.0, np.float32)), mask]),
                            g.const(np.array(-10000.0, np.float32))])
    additive = g.op("Unsqueeze", [additive, g.const(np.array([1, 2], np.int64))])
    split_shape = g.const(np.array([0, 0, heads, head_dim], np.int64))
    merge_shape = g.const(np.array([0, 0, hidden], np.int64))

    def rand(*shape):
        return (scale * rng.normal(0.0, 1.0, shape)).astype(np.float32)

    for _ in range(args.layers):
        def project(perm):
            y = g.linear(x, rand(hidden, hidden), np.zeros(hidden, np.float32))
            return g.op("Transpose", [g.op("Reshape", [y, split_shape])], perm=perm)
        q, k, v = project([0, 2, 1, 3]), project([0, 2, 3, 1]), project([0, 2, 1, 3])
        scores = g.op("Mul", [g.op("MatMul", [q, k]), g.const(np.array(1.0 / np.sqrt(head_dim), np.float32))])
        probs = g.op("Softmax", [g.op("Add", [scores, additive])], axis=-1)
        context = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_shape])
        attended = g.linear(context, rand(hidden, hidden), np.zeros(hidden, np.float32))
        x = g.layer_norm(g.op("Add", [x, attended]), hidden)
        inner = g.linear(x, rand(hidden, args.intermediate), np.zeros(args.intermediate, np.float32))
        erf = g.op("Erf", [g.op("Mul", [inner, g.const(np.array(1.0 / np.sqrt(2.0), np.float32))])])
        gelu = g.op("Mul", [g.op("Mul", [inner, g.const(np.array(0.5, np.float32))]),
                            g.op("Add", [erf, g.const(np.array(1.0, np.float32))])])
        out = g.linear(gelu, rand(args.intermediate, hidden), np.zeros(hidden, np.float32))
        x = g.layer_norm(g.op("Add", [x, out]), hidden)
    return x, mask, function_direction


def cross_encoder_head(g, hidden_states, mask, function_direction, hidden):
    """logit = 8 * cos(mean(query tokens), mean(passage tokens)), after projecting out the function-word direction."""
    unit = function_direction / np.linalg.norm(function_direction)
    projection = (np.eye(hidden) - np.outer(unit, unit)).astype(np.float32)
    h = g.op("MatMul", [hidden_states, g.const(projection, "projection")])
    segment_b = g.op("Mul", [mask, g.op("Cast", ["token_type_ids"], to=TensorProto.FLOAT)])
    segment_a = g.op("Sub", [mask, segment_b])
    axis1 = g.const(np.array([1], np.int64))
    axis_last = g.const(np.array([-1], np.int64))
    eps = g.const(np.array(1e-6, np.float32))

    def unit_mean(segment):
        weights = g.op("Unsqueeze", [segment, g.const(np.array([2], np.int64))])
        total = g.op("ReduceSum", [g.op("Mul", [h, weights]), axis1], keepdims=0)
        count = g.op("ReduceSum", [weights, axis1], keepdims=0)
        mean = g.op("Div", [total, g.op("Add", [count, eps])])
        norm = g.op("Sqrt", [g.op("Add", [g.op("ReduceSum", [g.op("Mul", [mean, mean]), axis_last], keepdims=1), eps])])
        return g.op("Div", [mean, norm])

    cosine = g.op("ReduceSum", [g.op("Mul", [unit_mean(segment_a), unit_mean(segment_b)]), axis_last], keepdims=1)
    return g.op("Mul", [cosine, g.const(np.array(8.0, np.float32))])


def write_model(folder, args, vocab, kind, seed):
    rng = np.random.default_rng(seed)
    g = Graph()
    hidden_states, mask, function_direction = bert_encoder(g, args, vocab, rng)
    if kind == "embedder":
        # Planted: project out the shared function-word direction so mean pooling averages content words.
        unit = function_direction / np.linalg.norm(function_direction)
        projection = (np.eye(args.hidden) - np.outer(unit, unit)).astype(np.float32)
        projected = g.op("MatMul", [hidden_states, g.const(projection, "projection")])
        g.nodes.append(helper.make_node("Identity", [projected], ["last_hidden_state"]))
        output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", args.hidden])
    else:
        logit = cross_encoder_head(g, hidden_states, mask, function_direction, args.hidden)
        g.nodes.append(helper.make_node("Identity", [logit], ["logits"]))
        output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    graph = helper.make_graph(g.nodes, f"tiny_{kind}", inputs, [output], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="switchyard")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    onnx.save(model, os.path.join(folder, "onnx", "model.onnx"))
    config = {
        "model_type": "bert", "architectures": ["BertModel" if kind == "embedder" else "BertForSequenceClassification"],
        "vocab_size": len(vocab), "hidden_size": args.hidden, "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads, "intermediate_size": args.intermediate,
        "max_position_embeddings": args.max_positions, "type_vocab_size": 2, "hidden_act": "gelu",
        "pad_token_id": 0, "layer_norm_eps": 1e-12,
        "switchyard_note": "random weights with planted concept clusters; generated by generate_tiny_models.py",
    }
    if kind == "cross-encoder":
        config.update({"num_labels": 1, "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}})
    with open(os.path.join(folder, "config.json"), "w") as handle:
        json.dump(config, handle, indent=1)
    with open(os.path.join(folder, "tokenizer.json"), "w") as handle:
        json.dump(tokenizer_json(vocab, args.max_positions), handle, separators=(",", ":"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as handle:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": args.max_positions,
                   "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
                   "mask_token": "[MASK]", "clean_up_tokenization_spaces": True}, handle, indent=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--intermediate", type=int, default=64)
    parser.add_argument("--max-positions", type=int, default=128)
    parser.add_argument("--layer-scale", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--only", choices=["embedder", "cross-encoder"], default=None)
    args = parser.parse_args()
    vocab = build_vocab()
    for offset, kind in enumerate(["embedder", "cross-encoder"]):
        if args.only and args.only != kind:
            continue
        name = "tiny-bert-embedder" if kind == "embedder" else "tiny-cross-encoder"
        write_model(os.path.join(args.out, name), args, vocab, kind, args.seed + offset)
    print(f"wrote models to {args.out} (vocab {len(vocab)})")


if __name__ == "__main__":
    main()
