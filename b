(bash) 0
