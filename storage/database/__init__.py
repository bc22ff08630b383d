"""storage/database"""
