"""workflows/text"""
