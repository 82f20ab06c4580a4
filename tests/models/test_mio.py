"""The MIO adapter with a stand-in `tokenization_mio` of the real interface and a tiny Llama model."""

from __future__ import annotations

import sys
import textwrap
import wave

import numpy as np
import pytest

from omnibench.data.schema import Message, Query, Sample, VideoRef
from omnibench.engine.offline import run_offline
from omnibench.engine.protocols import OfflineRequest
from omnibench.engine.wrapper import GuardedModel
from omnibench.errors import ConfigError
from omnibench.task import Prompts
from tests.videos import frame_pixels, make_video, read_index

pytest.importorskip("transformers")
pytest.importorskip("PIL")

# Same interface and control flow as MIO's tokenization_mio.MIOTokenizer (MIO-Team/MIO, read there):
# constructor (path, device), a `.tokenizer`, apply_chat_template(conversations, batch_image_paths,
# batch_speech_paths, mode, ...) that renders the conversation and calls __call__, which hands EVERY
# image list of the batch to tokenize_images, and tokenize_images reads images[0] first: an empty list
# raises IndexError, as the real one does. detokenize(ids, ...) -> (texts, image_paths, speech_paths).
# Only the image/speech codecs are replaced: an image becomes <img{grey level % 8}> x 3.
STAND_IN = textwrap.dedent('''
    import os
    import numpy as np
    from PIL import Image
    from transformers import PreTrainedTokenizerFast

    CALLS = []
    SYSTEM = {"std": "You are MIO, an AI assistant."}

    class MIOTokenizer:
        def __init__(self, model_name_or_path, device=None):
            # the real one reads these by relative path: the adapter must chdir into the repo
            assert os.path.isfile("image_tokenizer/configs/clip_transform.yaml"), os.getcwd()
            self.tokenizer = PreTrainedTokenizerFast.from_pretrained(model_name_or_path)
            self.device = device

        def tokenize_images(self, images, add_begin_end=True):
            if isinstance(images[0], str):          # the real first line: IndexError on []
                images = [Image.open(p).convert("RGB") for p in images]
            pixels = [np.asarray(im) for im in images]
            CALLS[-1]["pixels"] = pixels
            return ["<image>" + "<img%d>" % (int(px.mean()) % 8) * 3 + "</image>" for px in pixels]

        def tokenize_speeches(self, speech_paths, add_timbre=False, add_begin_end=True):
            return ["<spch><spch1><spch2></spch>" for _ in speech_paths]

        def __call__(self, texts, batch_image_paths=None, batch_speech_paths=None, add_bos=True, add_timbre=False,
                     *args, **kwargs):
            if batch_image_paths is not None:
                image_strs = [self.tokenize_images([Image.open(p).convert("RGB") for p in paths])
                              for paths in batch_image_paths]
            else:
                image_strs = [[] for _ in texts]
            if batch_speech_paths is not None:
                speech_strs = [self.tokenize_speeches(paths, add_timbre=add_timbre) for paths in batch_speech_paths]
            else:
                speech_strs = [[] for _ in texts]
            sequences = []
            for i, text in enumerate(texts):
                for j, s in enumerate(image_strs[i]):
                    text = text.replace("<image_placeholder_%d>" % j, s)
                for j, s in enumerate(speech_strs[i]):
                    text = text.replace("<speech_placeholder_%d>" % j, s)
                sequences.append(text)
            CALLS[-1]["text"] = sequences[0]
            return self.tokenizer(sequences, *args, **kwargs)

        def apply_chat_template(self, conversations, batch_image_paths=None, batch_speech_paths=None,
                                chat_template=None, add_generation_prompt=True, tokenize=True, mode="std",
                                add_bos=True, add_timbre=False, *args, **kwargs):
            CALLS.append({"conversations": conversations, "images": batch_image_paths,
                          "speech": batch_speech_paths, "mode": mode, "kwargs": kwargs})
            texts = []
            for conv in conversations:
                text = "<|im_start|>system\\n" + SYSTEM[mode] + "<|im_end|>\\n"
                for turn in conv:
                    text += "<|im_start|>" + turn["role"] + "\\n" + turn["content"] + "<|im_end|>\\n"
                texts.append(text + "<|im_start|>assistant\\n")
            return self(texts, batch_image_paths, batch_speech_paths, add_bos=add_bos, add_timbre=add_timbre,
                        *args, **kwargs)

        def detokenize(self, ids, output_image_dir="decoded_images", output_speech_dir="decoded_speeches",
                       save_images=True, save_speeches=True, extract_assistant=False):
            texts = self.tokenizer.batch_decode(ids, skip_special_tokens=False)
            return texts, [[] for _ in texts], [[] for _ in texts]
''')

SPECIALS = ["<s>", "<|im_start|>", "<|im_end|>", "<image>", "</image>", "<spch>", "</spch>",
            *[f"<img{i}>" for i in range(8)], *[f"<spch{i}>" for i in range(4)]]


@pytest.fixture(scope="module")
def mio_setup(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    repo = tmp_path_factory.mktemp("MIO")
    (repo / "tokenization_mio.py").write_text(STAND_IN)
    (repo / "image_tokenizer" / "configs").mkdir(parents=True)
    (repo / "image_tokenizer" / "configs" / "clip_transform.yaml").write_text("image_size: 224\n")

    words = ["<unk>"] + "system user assistant you are mio an ai what is shown ? red blue".split()
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>")
    tok.add_tokens(SPECIALS, special_tokens=True)
    tok.bos_token, tok.eos_token, tok.pad_token = "<s>", "<|im_end|>", "<unk>"
    weights = tmp_path_factory.mktemp("MIO-7B-Instruct")
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512)
    LlamaForCausalLM(config).save_pretrained(weights)
    tok.save_pretrained(weights)
    yield str(repo), str(weights)
    sys.path[:] = [p for p in sys.path if p != str(repo)]
    sys.modules.pop("tokenization_mio", None)


def calls():
    return sys.modules["tokenization_mio"].CALLS


def test_keyframes_reach_the_tokenizer_as_ordered_image_placeholders(mio_setup, tmp_path):
    from omnibench.models.mio import MIO

    repo, weights = mio_setup
    adapter = MIO(mio_repo=repo, pretrained=weights, device="cpu", num_frames=5)
    make_video(tmp_path / "clip.mp4", seconds=3.0, fps=10, size=(64, 48))
    sample = Sample(id="s1", task="t", video=VideoRef(path="clip.mp4"), turns=[Query(t=2.0, text="what is shown ?")])
    record = run_offline(GuardedModel(adapter, model_id="mio"), Prompts(), sample, video_root=tmp_path,
                         model_label="mio")
    assert record.status != "error", record.error
    answer = record.events[-1].text
    assert isinstance(answer, str) and "<img" not in answer and "<|im_end|>" not in answer
    call = calls()[-1]
    assert call["mode"] == "std" and call["speech"] is None and len(call["images"][0]) == 5
    indices = [read_index(px) for px in call["pixels"]]
    assert len(indices) == 5 and indices == sorted(indices) and indices[-1] <= 20    # in time order, clip ends at 2 s
    user = call["conversations"][0][-1]
    expected = "".join(f"<image_placeholder_{i}>" for i in range(5))
    assert user == {"role": "user", "content": expected + "\nwhat is shown ?"}
    assert "<image><img" in call["text"] and call["kwargs"]["return_tensors"] == "pt"


def test_speech_query_and_history_go_into_the_conversation(mio_setup, tmp_path):
    from omnibench.models.mio import MIO

    repo, weights = mio_setup
    wav = tmp_path / "q.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\x00\x00" * 1600)
    frames = np.stack([frame_pixels(i, (64, 48)) for i in (3, 6)])
    request = OfflineRequest(prompt="what is shown ?", frames=frames, audio=str(wav), max_new_tokens=4,
                             history=[Message(role="user", text="red ?"), Message(role="assistant", text="blue")])
    assert isinstance(MIO(mio_repo=repo, pretrained=weights, device="cpu").generate(request), str)
    call = calls()[-1]
    conv = call["conversations"][0]
    assert [t["role"] for t in conv] == ["user", "assistant", "user"]
    assert conv[-1]["content"] == "<image_placeholder_0><image_placeholder_1><speech_placeholder_0>\nwhat is shown ?"
    assert call["speech"] == [[str(wav)]] and [read_index(px) for px in call["pixels"]] == [3, 6]
    assert "<spch><spch1>" in call["text"]

    MIO(mio_repo=repo, pretrained=weights, device="cpu", speech=False).generate(request)
    assert calls()[-1]["speech"] is None and "<speech_placeholder_0>" not in calls()[-1]["conversations"][0][-1]["content"]


def test_setup_errors_say_what_is_missing(mio_setup, tmp_path):
    from omnibench.models.mio import MIO

    repo, weights = mio_setup
    with pytest.raises(ConfigError, match="tokenization_mio.py"):
        MIO(mio_repo=str(tmp_path), pretrained=weights)
    with pytest.raises(ConfigError, match="local directory"):
        MIO(mio_repo=repo, pretrained="m-a-p/MIO-7B-Instruct")


def test_a_request_without_frames_never_hands_the_tokenizer_an_empty_image_list(mio_setup, tmp_path):
    """The offline-as-streaming bridge asks at t=0 with no frames; the real MIOTokenizer fails on
    batch_image_paths=[[]] (tokenize_images reads images[0]), and so does the stand-in."""
    from omnibench.models.mio import MIO

    repo, weights = mio_setup
    adapter = MIO(mio_repo=repo, pretrained=weights, device="cpu")
    with pytest.raises(IndexError):
        adapter.tokenizer.apply_chat_template([[{"role": "user", "content": "what is shown ?"}]],
                                              batch_image_paths=[[]], batch_speech_paths=None)
    for frames in (None, np.zeros((0, 48, 64, 3), np.uint8)):
        answer = adapter.generate(OfflineRequest(prompt="what is shown ?", frames=frames, max_new_tokens=3))
        assert isinstance(answer, str)
        call = calls()[-1]
        assert call["images"] is None and call["conversations"][0][-1]["content"] == "what is shown ?"
