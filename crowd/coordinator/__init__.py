"""The coordinator's pages under /manage/: views, forms, urls and templates together, the way crowd/api/ holds the
API. Both call the same services and selectors, so nothing is written twice."""
