"""Names of the foreigners each registry records, in the script that registry writes.

Kazakhstan's registries write Kyrgyz, Uzbek, Chinese and Turkish citizens in Cyrillic;
Armenia's write Iranian, Georgian and Indian citizens in Armenian letters. Where the passport
Latin cannot be derived from that script (Chinese pinyin, Turkish, Persian, Georgian, Indian
names) it is written out after '='. Same text format as `names_kz.py`.
"""

from __future__ import annotations

# Kyrgyz: Cyrillic with the Kyrgyz letters Ң, Ө, Ү; masculine surnames, feminine adds -а.
KYRGYZ_SURNAMES = """
Асанов; Токтогулов; Жээнбеков; Абдыкадыров; Мамытов; Осмонов; Бакиев; Сыдыков; Эсенгулов
Кадыров; Турдубаев; Жумабеков; Исаков; Абдраимов; Орозбеков; Усенов; Бообеков; Шаршенов
Качкынбаев; Өмүрбеков; Сатыбалдиев; Алымкулов; Токтосунов; Бейшеналиев; Маматов; Жапаров
Ташиев; Эркинбаев; Үсөнов; Бөрүбаев
"""
KYRGYZ_MALE_NAMES = """
Бакыт; Азамат; Нурбек; Эркин; Улан; Кубанычбек; Темир; Адилет; Алмаз; Бектур; Мирлан
Жыргалбек; Айбек; Эрмек; Чыңгыз; Талант; Нурлан; Болот; Курманбек; Данияр; Эрлан; Элдияр
Бекболот; Максат; Өмүрбек; Үмөт
"""
KYRGYZ_FEMALE_NAMES = """
Айпери; Нургул; Гулзат; Айзада; Жылдыз; Бермет; Чолпон; Назира; Асель; Мээрим; Айгуль
Каныкей; Элнура; Динара; Айжамал; Гульмира; Жаркын; Айсулуу; Нуриза; Гүлнара; Үмүт
"""

UZBEK_SURNAMES = """
Каримов; Рахимов; Юсупов; Турсунов; Абдуллаев; Исмаилов; Хасанов; Усманов; Назаров
Махмудов; Эргашев; Мирзаев; Холматов; Султанов; Рахматуллаев; Бобоев; Жураев; Нурматов
Шарипов; Ахмедов; Саидов; Мамадалиев; Тошматов; Абдурахмонов; Хамидов; Алимов; Ортиков
Худойбердиев; Ибрагимов; Кодиров; Хусанов; Шомуродов
"""
UZBEK_MALE_NAMES = """
Азиз; Бахтиёр; Жасур; Рустам; Шерзод; Улугбек; Фаррух; Дилшод; Сардор; Отабек; Бобур
Акмал; Достон; Жахонгир; Санжар; Шухрат; Тимур; Анвар; Ислом; Фарход; Нодир; Хуршид
Элёр; Одил; Абдукодир; Жалолиддин
"""
UZBEK_FEMALE_NAMES = """
Дилноза; Нигора; Гулнора; Шахноза; Мадина; Зарина; Феруза; Малика; Севара; Мохира
Нилуфар; Дильфуза; Гульчехра; Умида; Нодира; Зулфия; Лола; Барно; Ойдин; Мунира
"""

# Chinese: Russian (Palladius) Cyrillic = pinyin of the passport. Surnames are unisex.
CHINESE_SURNAMES = """
Ван=WANG; Ли=LI; Чжан=ZHANG; Лю=LIU; Чэнь=CHEN; Ян=YANG; Хуан=HUANG; Чжао=ZHAO; У=WU
Чжоу=ZHOU; Сюй=XU; Сунь=SUN; Ма=MA; Чжу=ZHU; Ху=HU; Го=GUO; Линь=LIN; Хэ=HE; Гао=GAO
Лян=LIANG; Чжэн=ZHENG; Ло=LUO; Сун=SONG; Се=XIE; Тан=TANG; Хань=HAN; Фэн=FENG; Дэн=DENG
Цао=CAO; Пэн=PENG
"""
CHINESE_MALE_NAMES = """
Вэй=WEI; Лэй=LEI; Цзюнь=JUN; Тао=TAO; Мин=MING; Юн=YONG; Цян=QIANG; Хао=HAO; Бо=BO
Цзянь=JIAN; Пэн=PENG; Хуэй=HUI; Чжиган=ZHIGANG; Цзяньхуа=JIANHUA; Сяодун=XIAODONG
Гомин=GUOMING; Хайтао=HAITAO; Юйлун=YULONG; Вэньбо=WENBO; Цзюньцзе=JUNJIE
"""
CHINESE_FEMALE_NAMES = """
Фан=FANG; Цзин=JING; Ли=LI; Ин=YING; Сюэ=XUE; Хун=HONG; Ся=XIA; Пин=PING; Янь=YAN
Лин=LING; Мэй=MEI; Сяоянь=XIAOYAN; Лина=LINA; Хуэйминь=HUIMIN; Юйтин=YUTING; Цзяци=JIAQI
Сюли=XIULI; Мэйлин=MEILING
"""

# Turkish: Cyrillic = passport Latin (the machine-readable zone drops Ş, Ç, Ğ, İ, Ö, Ü marks).
TURKISH_SURNAMES = """
Йылмаз=YILMAZ; Кая=KAYA; Демир=DEMIR; Шахин=SAHIN; Челик=CELIK; Йылдыз=YILDIZ
Йылдырым=YILDIRIM; Озтюрк=OZTURK; Айдын=AYDIN; Оздемир=OZDEMIR; Арслан=ARSLAN; Доган=DOGAN
Кылыч=KILIC; Четин=CETIN; Кара=KARA; Коч=KOC; Курт=KURT; Озкан=OZKAN; Шимшек=SIMSEK
Полат=POLAT; Озер=OZER; Акташ=AKTAS; Гюнеш=GUNES
"""
TURKISH_MALE_NAMES = """
Мехмет=MEHMET; Мустафа=MUSTAFA; Ахмет=AHMET; Али=ALI; Хусейин=HUSEYIN; Хасан=HASAN
Ибрахим=IBRAHIM; Исмаил=ISMAIL; Осман=OSMAN; Юсуф=YUSUF; Мурат=MURAT; Эмре=EMRE
Бурак=BURAK; Омер=OMER; Кемаль=KEMAL; Озан=OZAN; Сердар=SERDAR; Энес=ENES
"""
TURKISH_FEMALE_NAMES = """
Фатма=FATMA; Айше=AYSE; Эмине=EMINE; Хатидже=HATICE; Зейнеп=ZEYNEP; Элиф=ELIF; Мерве=MERVE
Хюлья=HULYA; Озлем=OZLEM; Эсра=ESRA; Бюшра=BUSRA; Дилек=DILEK; Гюль=GUL
"""

# Iranian citizens in Armenia: Armenian letters = Iranian passport Latin.
IRANIAN_SURNAMES = """
Մոհամմադի=MOHAMMADI; Ահմադի=AHMADI; Հոսեյնի=HOSSEINI; Ռեզայի=REZAEI; Քարիմի=KARIMI
Ռահիմի=RAHIMI; Մուսավի=MOUSAVI; Ջաֆարի=JAFARI; Ղասեմի=GHASEMI; Սադեղի=SADEGHI
Հեյդարի=HEYDARI; Ամիրի=AMIRI; Նազարի=NAZARI; Ռոստամի=ROSTAMI; Աքբարի=AKBARI; Սալեհի=SALEHI
"""
IRANIAN_MALE_NAMES = """
Մոհամմադ=MOHAMMAD; Ալի=ALI; Ռեզա=REZA; Հոսեյն=HOSSEIN; Մեհդի=MEHDI; Ամիր=AMIR
Հասան=HASSAN; Մոհսեն=MOHSEN; Սաիդ=SAEED; Մաջիդ=MAJID; Ահմադ=AHMAD; Ջավադ=JAVAD
"""
IRANIAN_FEMALE_NAMES = """
Ֆաթեմե=FATEMEH; Զահրա=ZAHRA; Մարյամ=MARYAM; Սարա=SARA; Նեգին=NEGIN; Լեյլա=LEILA
Մինա=MINA; Նասրին=NASRIN; Շիրին=SHIRIN; Փարիսա=PARISA
"""

GEORGIAN_SURNAMES = """
Բերիձե=BERIDZE; Կապանաձե=KAPANADZE; Գելաշվիլի=GELASHVILI; Մաիսուրաձե=MAISURADZE
Գիորգաձե=GIORGADZE; Լոմիձե=LOMIDZE; Ցիկլաուրի=TSIKLAURI; Բոլքվաձե=BOLKVADZE
Նոզաձե=NOZADZE; Խուցիշվիլի=KHUTSISHVILI; Ջափարիձե=JAPARIDZE; Մամուլաշվիլի=MAMULASHVILI
Կվարացխելիա=KVARATSKHELIA; Դոլիձե=DOLIDZE
"""
GEORGIAN_MALE_NAMES = """
Գիորգի=GIORGI; Դավիթ=DAVIT; Իրակլի=IRAKLI; Լևան=LEVAN; Նիկոլոզ=NIKOLOZ; Զուրաբ=ZURAB
Գիգա=GIGA; Լաշա=LASHA; Դաչի=DACHI; Լուկա=LUKA
"""
GEORGIAN_FEMALE_NAMES = """
Նինո=NINO; Թամար=TAMAR; Մարիամ=MARIAM; Անա=ANA; Եկատերինե=EKATERINE; Սալոմե=SALOME
Նատիա=NATIA; Թեոնա=TEONA; Մակա=MAKA; Խատիա=KHATIA
"""

INDIAN_SURNAMES = """
Շարմա=SHARMA; Սինգհ=SINGH; Կումար=KUMAR; Պատել=PATEL; Գուպտա=GUPTA; Վերմա=VERMA
Յադավ=YADAV; Ռեդդի=REDDY; Ջոշի=JOSHI; Միշրա=MISHRA; Նաիր=NAIR; Չաուհան=CHAUHAN; Դաս=DAS
Ռաո=RAO
"""
INDIAN_MALE_NAMES = """
Ռահուլ=RAHUL; Ամիթ=AMIT; Վիկրամ=VIKRAM; Ռաջեշ=RAJESH; Սուրեշ=SURESH; Արջուն=ARJUN
Ռավի=RAVI; Սանջայ=SANJAY; Դիպակ=DEEPAK; Մանոջ=MANOJ
"""
INDIAN_FEMALE_NAMES = """
Պրիյա=PRIYA; Անջալի=ANJALI; Նեհա=NEHA; Պուջա=POOJA; Սունիտա=SUNITA; Դիվյա=DIVYA
Քավյա=KAVYA; Ռիտա=RITA
"""

# Pool name: (surnames, male names, female names).
POOLS = {
    "kgz": (KYRGYZ_SURNAMES, KYRGYZ_MALE_NAMES, KYRGYZ_FEMALE_NAMES),
    "uzb": (UZBEK_SURNAMES, UZBEK_MALE_NAMES, UZBEK_FEMALE_NAMES),
    "chn": (CHINESE_SURNAMES, CHINESE_MALE_NAMES, CHINESE_FEMALE_NAMES),
    "tur": (TURKISH_SURNAMES, TURKISH_MALE_NAMES, TURKISH_FEMALE_NAMES),
    "irn": (IRANIAN_SURNAMES, IRANIAN_MALE_NAMES, IRANIAN_FEMALE_NAMES),
    "geo": (GEORGIAN_SURNAMES, GEORGIAN_MALE_NAMES, GEORGIAN_FEMALE_NAMES),
    "ind": (INDIAN_SURNAMES, INDIAN_MALE_NAMES, INDIAN_FEMALE_NAMES),
}
