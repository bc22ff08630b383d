"""storage/formats"""
