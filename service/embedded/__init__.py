"""service/embedded"""
