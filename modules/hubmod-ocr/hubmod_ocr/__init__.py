"""OCR modules: PP-OCRv4 text detection (DB), direction classification and CTC recognition, and the
`chinese_ocr_db_crnn_mobile` pipeline that joins them.

Importing this package imports nothing heavy: paddle and cv2 are imported when a module is used.
"""
