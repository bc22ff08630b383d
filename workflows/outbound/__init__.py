"""workflows/outbound"""
