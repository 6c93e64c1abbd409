"""Media preparation: probe what a file really is, decide what each network
needs, and make it (pass through, remux, transcode, or refuse with a reason).

* ``app.media.ffmpeg``: the FFmpeg binary (from the ``imageio-ffmpeg`` wheel),
  run contained: demuxer forced to the sniffed format, the staged file handed
  over as a file descriptor (no file/network protocols), CPU-time and
  output-size limits, killed with its task.
* ``app.media.probe``: containers, codecs, sizes, durations, as FFmpeg reads them.
* ``app.media.specs``: what each network accepts, each number with its source.
* ``app.media.decide``: the decision for one push, with its why.
* ``app.media.pictures``: Pillow conversions for pictures.
"""
