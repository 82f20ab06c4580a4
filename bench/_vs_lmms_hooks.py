"""lmms-eval hooks of bench/vs_lmms_eval.py's tasks (copied next to their YAMLs; lmms-eval imports them there)."""


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    return [doc["video"]]


def doc_to_messages(doc, lmms_eval_specific_kwargs=None):
    return [{"role": "user", "content": [{"type": "video", "url": doc["video"]},
                                         {"type": "text", "text": doc["questions"][0]}]}]


def doc_to_text(doc, lmms_eval_specific_kwargs=None, previous_output=None, round_idx=None, previous_round_info=None):
    """Round 0: the first question; round k: the next one with the model's last answer put in."""
    if round_idx is None:
        return doc["questions"][0]
    if round_idx >= len(doc["questions"]):
        return None, None, True, previous_output, None
    text = doc["questions"][round_idx].replace("##ANSWER##", previous_output[-1])
    return [doc["video"]], text, False, previous_output, None


def process_results(doc, results):
    return {"answered": float(bool(results))}
