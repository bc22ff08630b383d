"""workflows/domain"""
