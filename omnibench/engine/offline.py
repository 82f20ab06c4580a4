"""Offline models: the per-query driver, and the bridge that lets them take streaming tasks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from omnibench.data.schema import Sample
from omnibench.engine.boundary import clip_start, offline_request
from omnibench.engine.bounds import VideoIssuePolicy, note_video_issues
from omnibench.engine.capabilities import Capabilities, capabilities_of
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.engine.frame_store import DEFAULT_MAX_BYTES, KeptFrames
from omnibench.engine.protocols import Emission, OfflineRequest, StreamInfo, UserTurn
from omnibench.engine.wrapper import GuardedModel
from omnibench.errors import DataError
from omnibench.task import Prompts

if TYPE_CHECKING:
    from omnibench.data.video import VideoIssues, VideoReader

def resolve_video(root: Path | None, relative: str) -> Path:
    """A video path inside the data root: relative, without '..'. Symlinks inside the root are the data
    owner's (a videos/ folder on another disk) and are followed."""
    from omnibench.data.schema import check_relative_path

    if root is None:
        raise DataError(f"video {relative!r} needs a data root, and none was given")
    try:
        check_relative_path(relative)
    except ValueError as exc:
        raise DataError(f"video path {relative!r} leaves the data root {root}: {exc}") from None
    return Path(root) / relative


def clip_for(sample: Sample, end: float | None) -> str | None:
    """The pre-cut clip ending at `end`, when the dataset ships one (OmniMMI names them by int(end))."""
    if end is None:
        return None
    return sample.video.clips.get(str(int(end)))


class ClipSource:
    """Decodes the frames an offline request needs, reusing open readers within a sample.

    `issues`: the damage its reads met. Turns re-read overlapping spans of one file, so per file
    the largest count one read met is kept (not their sum), and frozen stretches once each.
    """

    def __init__(self, root: Path | None):
        self.root = root
        self._readers: dict[Path, VideoReader] = {}
        self._damage: dict[Path, tuple[int, int, dict[float, float]]] = {}

    def reader(self, relative: str):
        from omnibench.data.video import VideoReader

        path = resolve_video(self.root, relative)
        if path not in self._readers:
            self._readers[path] = VideoReader(path)
        return self._readers[path]

    def duration(self, sample: Sample) -> float:
        if sample.video.end is not None:
            return float(sample.video.end)
        return float(self.reader(sample.video.path).duration)

    def frames(self, sample: Sample, end: float | None, *, count: int | None, fps: float | None):
        clip = clip_for(sample, end)
        if clip and resolve_video(self.root, clip).exists():
            return self._sample(clip, count=count, fps=fps)
        if clip and sample.metadata.get("clips_required"):     # reference mode: it reads clips/ only
            raise DataError(f"sample {sample.id}: pre-cut clip {clip} is missing under {self.root} "
                            "(--missing-clip error; `cut` reads [0, end] of the full video instead)")
        return self._sample(sample.video.path, count=count, fps=fps, start=clip_start(sample, end), end=end)

    def clip(self, sample: Sample, end: float | None) -> Path:
        """A file of [start, end] for adapters that read video themselves: the dataset's pre-cut clip
        (it ends at or before `end`), else one cut from the source (omnibench.data.clips)."""
        from omnibench.data.clips import cut

        ready = clip_for(sample, end)
        if ready and resolve_video(self.root, ready).exists():
            return resolve_video(self.root, ready)
        return cut(resolve_video(self.root, sample.video.path), clip_start(sample, end), end)

    def _sample(self, relative: str, **span):
        from omnibench.data.video import VideoIssues

        reader = self.reader(relative)
        reader.issues = VideoIssues()                 # this read's damage alone
        frames = reader.sample(**span)
        found = reader.issues
        errors, repeats, frozen = self._damage.get(reader.path, (0, 0, {}))
        for a, b in found.frozen:
            frozen[a] = max(b, frozen.get(a, b))
        self._damage[reader.path] = (max(errors, found.decode_errors), max(repeats, found.repeated_timestamps),
                                     frozen)
        return frames

    @property
    def issues(self) -> VideoIssues:
        """All damage met so far, as one VideoIssues (for bounds.note_video_issues)."""
        from omnibench.data.video import VideoIssues

        total = VideoIssues()
        for errors, repeats, frozen in self._damage.values():
            total.decode_errors += errors
            total.repeated_timestamps += repeats
            total.frozen += sorted(frozen.items())
        return total

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()


def model_caps(model) -> Capabilities:
    """The typed capabilities of a model, wrapped or not (never its raw attributes: a declared
    `capabilities = Capabilities(...)` has no `needs_video` attribute to read)."""
    return model.caps if isinstance(model, GuardedModel) else capabilities_of(model)


def frame_settings(model) -> tuple[int | None, float | None]:
    """(frame count, None) or (None, fps) for an offline request, from the model's capabilities."""
    caps = model_caps(model)
    return (None, float(caps.offline_fps)) if caps.offline_fps else (caps.num_frames, None)


def respond(model: GuardedModel, request: OfflineRequest, turn_taking: bool = False) -> tuple[str, float, dict]:
    """Answer one request. On a turn-taking task (staying silent can be right) the model's turn-taking
    head, when it has one, is consulted on every turn alike: which turns are noise is the harness's secret."""
    extras: dict = {}
    seconds = 0.0
    if turn_taking and callable(getattr(model.inner, "should_respond", None)):
        p, seconds = model.should_respond(request)
        extras["p_respond"] = round(p, 6)
        if p < 0.5:
            return "", seconds, extras
    text, gen_s = model.generate(request)
    extras.update(getattr(text, "data", None) or {})       # a Reply's per-call data (token usage)
    return str(text), seconds + gen_s, extras


def run_offline(model: GuardedModel, prompts: Prompts, sample: Sample, *, video_root: Path | None,
                model_label: str, max_new_tokens: int = 256, video_issues: VideoIssuePolicy = "report",
                turn_taking: bool = False, speak: Callable[[str, bool], str] | None = None) -> SampleRecord:
    """Each turn in order: the clip [start, query time] (or its pre-cut clip), prompt and history.
    Damage the video reads met goes on the record under `video_issues` (bounds.note_video_issues).
    `speak(prompt, online=False)`: the whole prompt, spoken, is the request's audio (data/tts.py)."""
    caps = model_caps(model)
    needs_video, reads_clips = caps.needs_video, caps.needs_video and caps.video_input == "clip"
    source = ClipSource(video_root)
    count, fps = frame_settings(model)
    events: list[Event] = []
    answers: list[str] = []
    compute = 0.0
    try:
        duration = source.duration(sample) if needs_video else sample.video.end
        for i, query in enumerate(sample.turns):
            end = query.t if query.t is not None else duration
            frames = source.frames(sample, end, count=count, fps=fps) if needs_video and not reads_clips else None
            prompt = prompts.offline(sample, i, answers)
            request = offline_request(sample, i, prompt, end=end, history=prompts.history(sample, i, answers),
                                      answers=answers, frames=frames.array if frames else None,
                                      frame_times=frames.times if frames else (), max_new_tokens=max_new_tokens,
                                      video_path=str(source.clip(sample, end)) if reads_clips else None,
                                      audio=speak(prompt, False) if speak else None)
            t = float(end or 0.0)
            events.append(Event(kind="query", t=t, turn=i, text=prompt))
            text, seconds, extras = respond(model, request, turn_taking)
            compute += seconds
            answers.append(text)
            events.append(Event(kind="emission", t=t, compute_s=round(seconds, 6), turn=i, text=text,
                                done=True, data=extras or None))
    finally:
        source.close()
    record = SampleRecord(sample_id=sample.id, task=sample.task, model=model_label, events=events,
                          stream_s=float(duration or 0.0), compute_s=round(compute, 6),
                          settings={"protocol": "offline", "num_frames": count, "fps": fps})
    note_video_issues(record, source, video_issues)
    return record


class OfflineAsStreaming:
    """Lets an offline model take a streaming task by polling it every `every` seconds.

    Harness-side: it is built for one sample and keeps it (the model it polls sees only requests).
    Alert requests: "has it happened yet? yes/no" on the clip so far; a yes is an alert at that
    time. When the task's prompts have `alert_answer(sample, turn)` (StreamingBench's proactive
    output: "when X happens, output Y"), a yes is followed by that question on the same clip, the
    reply is the alert's text, and that request is not polled again. Other turns are answered once,
    at the first poll after they arrive.
    """

    def __init__(self, model: GuardedModel, prompts: Prompts, sample: Sample, *, every: float = 1.0,
                 fps: float = 1.0, turn_taking: bool = False, video_root: Path | None = None,
                 max_bytes: int | None = DEFAULT_MAX_BYTES):
        self.model, self.prompts, self.sample, self.every, self.fps = model, prompts, sample, every, fps
        self.turn_taking = turn_taking
        caps = model_caps(model)
        self.needs_video, self.num_frames = caps.needs_video, caps.num_frames
        self.clips = ClipSource(video_root) if caps.needs_video and caps.video_input == "clip" else None
        self.max_side, self.max_bytes = caps.max_side, max_bytes

    def reset(self, info: StreamInfo) -> None:
        # only frames it may still pick, at the model's size, within a budget (frame_store.py)
        self.kept = KeptFrames(max_side=self.max_side, max_bytes=self.max_bytes)
        self.asked: list[int] = []
        self.answered: set[int] = set()
        self.alerted: set[int] = set()          # requests already answered through alert_answer
        self.last_poll = float("-inf")
        self.answers: list[str] = ["" for _ in self.sample.turns]

    def feed(self, t: float, frame) -> None:
        if frame is not None and self.needs_video and self.clips is None:
            self.kept.add(t, frame)

    def ask(self, t: float, turn: UserTurn) -> None:
        self.asked.append(len(self.asked))      # the k-th ask is turn k (the runner's contract)

    def _request(self, turn: int, prompt: str, end: float) -> OfflineRequest:
        frames, times = self.kept.pick(self.num_frames) if self.clips is None else (None, [])
        clip = str(self.clips.clip(self.sample, end)) if self.clips is not None else None
        # the bridge's frames run from the stream's start
        return offline_request(self.sample, turn, prompt, end=end, frames=frames, frame_times=times, video_path=clip,
                               history=self.prompts.history(self.sample, turn, self.answers), answers=self.answers,
                               start=0.0)

    def poll(self, t: float) -> list[Emission]:
        out: list[Emission] = []
        for turn in self.asked:
            if turn in self.answered or self.sample.turns[turn].kind == "alert_request":
                continue
            self.answered.add(turn)
            prompt = self.prompts.offline(self.sample, turn, self.answers)
            text, _, _ = respond(self.model, self._request(turn, prompt, t), self.turn_taking)
            self.answers[turn] = text
            if text:
                out.append(Emission(text=text, turn=turn))
        if t - self.last_poll + 1e-9 < self.every:
            return out
        self.last_poll = t
        answer_prompt = getattr(self.prompts, "alert_answer", None)
        for turn in self.asked:
            if self.sample.turns[turn].kind == "alert_request" and turn not in self.alerted:
                text, _ = self.model.generate(self._request(turn, self.prompts.poll(self.sample, turn), t))
                if not text.strip().lower().startswith("yes"):
                    continue
                if callable(answer_prompt):
                    said, _ = self.model.generate(self._request(turn, answer_prompt(self.sample, turn), t))
                    self.alerted.add(turn)
                    out.append(Emission(text=said or "alert", turn=None, refers_to=t))
                else:
                    out.append(Emission(text="alert", turn=None, refers_to=t))
        return out

    def close(self) -> None:
        if self.clips is not None:
            self.clips.close()
