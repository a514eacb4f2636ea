"""Drawings to answers: image bytes to ink (images, image_files), a loaded model (predictor) and which
one serves (serving), a row of digits (numbers, number_strokes), why the network read what it read
(explain), and the request's drawings run on the loop or in worker threads (drawings, work)."""
