"""Stand-in checkouts of OVO-Bench and StreamingBench: their files' code shape, our own stand-in sentences.

The reference's wording is never copied here; what `omnibench data reference-prompts` must read is
the code structure (module-level templates, the option joiner, f-strings over the record), so the
stand-ins keep that structure and say other words. The templates are kept here as constants, so a
test can fill them the way the reference's own code does (str.format with positional fields).
"""

from __future__ import annotations

from pathlib import Path

OVO_TEMPLATES = {
    "BR_PROMPT_TEMPLATE": "\nStand-in question: {}\nStand-in choices:\n{}\n\nStand-in: reply with one letter.\n",
    "REC_PROMPT_TEMPLATE": "\nStand-in counting preamble (e.g., 0, 1, 2).\n{}\nStand-in: one number.\n",
    "SSR_PROMPT_TEMPLATE": "\nStand-in step:\n{}\nStand-in: yes or no.\n",
    "CRR_PROMPT_TEMPLATE": "\nStand-in clue question.\n{}\nStand-in: yes or no.\n",
}
OVO_CONSTANT = 'BACKWARD_TASKS = ["EPM", "ASI", "HLD"]\n' + "".join(f"{k} = {v!r}\n" for k, v in OVO_TEMPLATES.items())
OVO_OPTION = "({letter}) {text}"      # what the stand-in's build_prompt does: ' | '.join(f'({chr(65 + i)}) {option}') + ' |'
OVO_REC_QUESTION = "Stand-in: how often did they {activity}?"

OVO_BUILD = '''
from constant import BR_PROMPT_TEMPLATE, REC_PROMPT_TEMPLATE, SSR_PROMPT_TEMPLATE, CRR_PROMPT_TEMPLATE

class OVOBenchOffline():
    def build_prompt(self, task, question, options, _anno_, index):
        if task in ["EPM", "ASI", "HLD", "STU", "OJR", "ATR", "ACR", "OCR", "FPD"]:
            formatted_options = ' | '.join(f'({chr(65 + i)}) {option}' for i, option in enumerate(options)) + ' |'
            prompt = BR_PROMPT_TEMPLATE.format(question, formatted_options)
        elif task == "REC":
            activity = _anno_["activity"]
            question = "Stand-in: how often did they " + activity + "?"
            prompt = REC_PROMPT_TEMPLATE.format(question)
        elif task == "SSR":
            step = _anno_["test_info"][index]["step"]
            prompt = SSR_PROMPT_TEMPLATE.format(step)
        elif task == "CRR":
            question = _anno_["question"]
            prompt = CRR_PROMPT_TEMPLATE.format(question)
        return prompt
'''

SB_TEMPLATES = {
    "plain": "Stand-in preamble.\n\nQ: {}\n\nOpts:\n{}\n{}\n{}\n{}",
    "plain_suffix": "\n\nStand-in best:",
    "sqa": "Stand-in SQA preamble.\n\n{}\n\nStand-in: now this one.\nQ: {}\n\nOpts:\n{}\n{}\n{}\n{}\n\nStand-in best:",
    "sqa_start": "Stand-in context follows: ",
    "proactive": "Stand-in proactive preamble.\n\nQ: {}\n\nStand-in answer:\n",
}
SB_PLAIN = f"""
PROMPT_TEMPLATE = {SB_TEMPLATES["plain"]!r}

def StreamingBenchEval(data, MODEL, output_path, context_time):
    for subset in data:
        for question in subset["questions"]:
            ques = question["question"]
            if "options" in question.keys():
                options = question["options"]
                inp = PROMPT_TEMPLATE.format(ques, *options)
                inp += {SB_TEMPLATES["plain_suffix"]!r}
            else:
                inp = ques
                inp += "Stand-in open:"
"""

SB_SQA = f"""
PROMPT_TEMPLATE = {SB_TEMPLATES["sqa"]!r}

def StreamingBenchSQAEval(data, MODEL, output_path, context_time):
    for video_data in data:
        context = ""
        for subset in video_data:
            for question in subset["questions"]:
                ques = question["question"]
                options = question["options"]
                inp = PROMPT_TEMPLATE.format(context, ques, *options)
                if not context:
                    context += {SB_TEMPLATES["sqa_start"]!r}
                context += f"At {{question['time_stamp']}} asked: {{ques}}; choices: {{options[0]}}, {{options[1]}}, {{options[2]}}, {{options[3]}}; correct: {{question['answer']}}; "
"""

SB_PROACTIVE = f"""
PROMPT_TEMPLATE_PROACTIVE = {SB_TEMPLATES["proactive"]!r}

def StreamingBenchProactiveEval(data, MODEL, output_path, context_time):
    for subset in data:
        for question in subset["questions"]:
            query = f"{{question['question']}} Stand-in: time to say \\"{{question['ground_truth_output']}}\\"? yes or no."
            inp = PROMPT_TEMPLATE_PROACTIVE.format(query)
"""


def write_ovo_checkout(root: Path) -> Path:
    (root / "utils").mkdir(parents=True)
    (root / "constant.py").write_text(OVO_CONSTANT, encoding="utf-8")
    (root / "utils" / "OVOBench.py").write_text(OVO_BUILD, encoding="utf-8")
    return root


def write_sb_checkout(root: Path) -> Path:
    folder = root / "src" / "benchmark"
    folder.mkdir(parents=True)
    for name, text in (("StreamingBench", SB_PLAIN), ("StreamingBenchSQA", SB_SQA),
                       ("StreamingBenchProactive", SB_PROACTIVE)):
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return root
