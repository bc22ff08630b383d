"""service/web"""
