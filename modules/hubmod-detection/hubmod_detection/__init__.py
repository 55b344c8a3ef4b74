"""Object detection modules, and the toolkit they share: letterbox, YOLO box decoding, class-wise NMS,
mapping boxes back to the original image, drawing.

Importing this package imports nothing heavy: paddle and cv2 are imported when a module is used.
"""
