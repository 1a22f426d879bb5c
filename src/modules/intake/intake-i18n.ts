// Message catalogues of the public intake form, one small dictionary per
// language (no plural forms are needed: no message counts anything). Country
// names come from the runtime's ICU data (Intl.DisplayNames) in the same
// language. Serbian is given in Latin script, which phones type most readily.
import type { IntakeLanguageCode } from './intake.schemas.ts';

export type Messages = {
  title: string;
  intro: string;
  person: string;
  name: string;
  dob: string;
  citizenship: string;
  event: string;
  type: string;
  country: string;
  city: string;
  when: string;
  description: string;
  reporter: string;
  reporterName: string;
  contact: string;
  consent: string;
  send: string;
  working: string;
  sent: string;
  retry: string;
  throttled: string;
  invalid: string;
  failed: string;
  /** Labels of FORM_EVENT_TYPES, in that order. */
  types: [string, string, string, string, string, string];
};

export const FORM_EVENT_TYPES = [
  'DETENTION',
  'EXTRADITION_REQUEST',
  'DEPORTATION_ORDER',
  'ABDUCTION',
  'THREAT',
  'OTHER',
] as const;

/** Each language's own name, for the language switcher. */
export const LANGUAGE_NAMES: Record<IntakeLanguageCode, string> = {
  ru: 'Русский',
  en: 'English',
  kk: 'Қазақша',
  ky: 'Кыргызча',
  hy: 'Հայերեն',
  ka: 'ქართული',
  sr: 'Srpski',
  tr: 'Türkçe',
};

// prettier-ignore
export const MESSAGES: Record<IntakeLanguageCode, Messages> = {
  ru: {
    title: 'Сообщить о задержании или угрозе',
    intro: 'Если человека задержали, ему угрожают или требуют его выдачи, сообщите нам. Сообщение читают только проверенные сотрудники. Вы получите код-квитанцию.',
    person: 'Кто пострадал', name: 'Полное имя (как вы его знаете)', dob: 'Дата рождения (если известна)', citizenship: 'Гражданство',
    event: 'Что случилось', type: 'Что произошло', country: 'Страна', city: 'Город', when: 'Когда', description: 'Опишите, что произошло',
    reporter: 'Как с вами связаться', reporterName: 'Ваше имя (необязательно)', contact: 'Телефон, Signal, Telegram или e-mail',
    consent: 'Я согласен(на), чтобы организация хранила и использовала это сообщение, чтобы помочь.', send: 'Отправить',
    working: 'Отправляем… это может занять несколько секунд.', sent: 'Отправлено. Ваш код-квитанция:',
    retry: 'Проверка безопасности не прошла. Ваш текст сохранён: нажмите «Отправить» ещё раз.',
    throttled: 'Слишком много сообщений с этого подключения. Попробуйте позже.', invalid: 'Проверьте отмеченные поля.',
    failed: 'Не удалось отправить. Ваш текст сохранён: попробуйте ещё раз.',
    types: ['Задержание', 'Запрос об экстрадиции', 'Депортация или выдворение', 'Похищение', 'Угроза или слежка', 'Другое'],
  },
  en: {
    title: 'Report a detention or a threat',
    intro: 'If someone was detained, is threatened or faces extradition, tell us. Only our vetted staff read this. You will get a receipt code.',
    person: 'Who is affected', name: 'Full name (as you know it)', dob: 'Date of birth (if known)', citizenship: 'Citizenship',
    event: 'What happened', type: 'Kind of event', country: 'Country', city: 'City', when: 'When', description: 'Describe what happened',
    reporter: 'How can we reach you', reporterName: 'Your name (optional)', contact: 'Phone, Signal, Telegram or email',
    consent: 'I agree that the organisation stores and uses this report in order to help.', send: 'Send',
    working: 'Sending… this can take a few seconds.', sent: 'Sent. Your receipt code:',
    retry: 'The security check failed. Your text is kept: press Send again.',
    throttled: 'Too many reports from this connection. Please try again later.', invalid: 'Please check the marked fields.',
    failed: 'Could not send. Your text is kept: please try again.',
    types: ['Detention', 'Extradition request', 'Deportation or expulsion', 'Abduction', 'Threat or surveillance', 'Other'],
  },
  kk: {
    title: 'Ұстау немесе қауіп туралы хабарлау',
    intro: 'Егер адам ұсталса, оған қауіп төнсе немесе оны экстрадициялау талап етілсе, бізге хабарлаңыз. Хабарламаны тек тексерілген қызметкерлер оқиды. Сіз түбіртек кодын аласыз.',
    person: 'Кім зардап шекті', name: 'Толық аты-жөні (өзіңіз білетіндей)', dob: 'Туған күні (белгілі болса)', citizenship: 'Азаматтығы',
    event: 'Не болды', type: 'Оқиға түрі', country: 'Ел', city: 'Қала', when: 'Қашан', description: 'Не болғанын сипаттаңыз',
    reporter: 'Сізбен қалай байланысуға болады', reporterName: 'Сіздің атыңыз (міндетті емес)', contact: 'Телефон, Signal, Telegram немесе e-mail',
    consent: 'Ұйымның бұл хабарламаны көмек көрсету үшін сақтауына және пайдалануына келісемін.', send: 'Жіберу',
    working: 'Жіберілуде… бұл бірнеше секунд алуы мүмкін.', sent: 'Жіберілді. Түбіртек кодыңыз:',
    retry: 'Қауіпсіздік тексеруі өтпеді. Мәтініңіз сақталды: «Жіберу» түймесін қайта басыңыз.',
    throttled: 'Бұл қосылымнан хабарламалар тым көп. Кейінірек қайталап көріңіз.', invalid: 'Белгіленген өрістерді тексеріңіз.',
    failed: 'Жіберу мүмкін болмады. Мәтініңіз сақталды: қайталап көріңіз.',
    types: ['Ұстау', 'Экстрадиция туралы сұрау', 'Депортация немесе елден шығару', 'Ұрлау', 'Қауіп төндіру немесе аңду', 'Басқа'],
  },
  ky: {
    title: 'Кармоо же коркунуч тууралуу кабарлоо',
    intro: 'Эгер адам кармалса, ага коркунуч туулса же аны экстрадициялоо талап кылынса, бизге кабарлаңыз. Кабарды текшерилген кызматкерлер гана окушат. Сиз квитанция кодун аласыз.',
    person: 'Ким жабыр тартты', name: 'Толук аты-жөнү (өзүңүз билгендей)', dob: 'Туулган күнү (белгилүү болсо)', citizenship: 'Жарандыгы',
    event: 'Эмне болду', type: 'Окуянын түрү', country: 'Өлкө', city: 'Шаар', when: 'Качан', description: 'Эмне болгонун сүрөттөп бериңиз',
    reporter: 'Сиз менен кантип байланышсак болот', reporterName: 'Сиздин атыңыз (милдеттүү эмес)', contact: 'Телефон, Signal, Telegram же e-mail',
    consent: 'Уюмдун бул кабарды жардам берүү үчүн сактоосуна жана колдонуусуна макулмун.', send: 'Жөнөтүү',
    working: 'Жөнөтүлүүдө… бул бир нече секунд алышы мүмкүн.', sent: 'Жөнөтүлдү. Квитанция кодуңуз:',
    retry: 'Коопсуздук текшерүүсүнөн өткөн жок. Текстиңиз сакталды: «Жөнөтүү» баскычын кайра басыңыз.',
    throttled: 'Бул туташуудан кабарлар өтө көп. Кийинчерээк кайталап көрүңүз.', invalid: 'Белгиленген талааларды текшериңиз.',
    failed: 'Жөнөтүү мүмкүн болгон жок. Текстиңиз сакталды: кайра аракет кылыңыз.',
    types: ['Кармоо', 'Экстрадиция боюнча суроо-талап', 'Депортация же өлкөдөн чыгаруу', 'Уурдап кетүү', 'Коркутуу же аңдуу', 'Башка'],
  },
  hy: {
    title: 'Հայտնել ձերբակալման կամ սպառնալիքի մասին',
    intro: 'Եթե որևէ մեկին ձերբակալել են, սպառնում են կամ պահանջում են նրա արտահանձնումը, տեղեկացրեք մեզ։ Հաղորդումը կարդում են միայն ստուգված աշխատակիցները։ Դուք կստանաք անդորրագրի կոդ։',
    person: 'Ով է տուժել', name: 'Լրիվ անունը (ինչպես գիտեք)', dob: 'Ծննդյան ամսաթիվը (եթե հայտնի է)', citizenship: 'Քաղաքացիությունը',
    event: 'Ինչ է պատահել', type: 'Դեպքի տեսակը', country: 'Երկիր', city: 'Քաղաք', when: 'Երբ', description: 'Նկարագրեք, թե ինչ է պատահել',
    reporter: 'Ինչպես կապվել ձեզ հետ', reporterName: 'Ձեր անունը (պարտադիր չէ)', contact: 'Հեռախոս, Signal, Telegram կամ էլ. փոստ',
    consent: 'Համաձայն եմ, որ կազմակերպությունը պահի և օգտագործի այս հաղորդումը՝ օգնելու նպատակով։', send: 'Ուղարկել',
    working: 'Ուղարկվում է… դա կարող է տևել մի քանի վայրկյան։', sent: 'Ուղարկված է։ Ձեր անդորրագրի կոդը՝',
    retry: 'Անվտանգության ստուգումը չհաջողվեց։ Ձեր տեքստը պահպանված է․ կրկին սեղմեք «Ուղարկել»։',
    throttled: 'Այս կապից չափազանց շատ հաղորդումներ են եկել։ Փորձեք ավելի ուշ։', invalid: 'Ստուգեք նշված դաշտերը։',
    failed: 'Չհաջողվեց ուղարկել։ Ձեր տեքստը պահպանված է․ փորձեք կրկին։',
    types: ['Ձերբակալում', 'Արտահանձնման հարցում', 'Արտաքսում', 'Առևանգում', 'Սպառնալիք կամ հետապնդում', 'Այլ'],
  },
  ka: {
    title: 'შეგვატყობინეთ დაკავების ან მუქარის შესახებ',
    intro: 'თუ ვინმე დააკავეს, ემუქრებიან ან მის ექსტრადიციას ითხოვენ, შეგვატყობინეთ. შეტყობინებას მხოლოდ შემოწმებული თანამშრომლები კითხულობენ. თქვენ მიიღებთ ქვითრის კოდს.',
    person: 'ვინ დაზარალდა', name: 'სრული სახელი (როგორც იცით)', dob: 'დაბადების თარიღი (თუ ცნობილია)', citizenship: 'მოქალაქეობა',
    event: 'რა მოხდა', type: 'შემთხვევის სახე', country: 'ქვეყანა', city: 'ქალაქი', when: 'როდის', description: 'აღწერეთ, რა მოხდა',
    reporter: 'როგორ დაგიკავშირდეთ', reporterName: 'თქვენი სახელი (არასავალდებულო)', contact: 'ტელეფონი, Signal, Telegram ან ელფოსტა',
    consent: 'ვეთანხმები, რომ ორგანიზაციამ შეინახოს და გამოიყენოს ეს შეტყობინება დახმარების მიზნით.', send: 'გაგზავნა',
    working: 'იგზავნება… ამას შეიძლება რამდენიმე წამი დასჭირდეს.', sent: 'გაიგზავნა. თქვენი ქვითრის კოდი:',
    retry: 'უსაფრთხოების შემოწმება ვერ მოხერხდა. თქვენი ტექსტი შენახულია: კვლავ დააჭირეთ „გაგზავნას“.',
    throttled: 'ამ კავშირიდან ძალიან ბევრი შეტყობინებაა. სცადეთ მოგვიანებით.', invalid: 'შეამოწმეთ მონიშნული ველები.',
    failed: 'გაგზავნა ვერ მოხერხდა. თქვენი ტექსტი შენახულია: სცადეთ ხელახლა.',
    types: ['დაკავება', 'ექსტრადიციის მოთხოვნა', 'დეპორტაცია ან გაძევება', 'გატაცება', 'მუქარა ან თვალთვალი', 'სხვა'],
  },
  sr: {
    title: 'Prijavite pritvor ili pretnju',
    intro: 'Ako je neko pritvoren, ako mu prete ili se traži njegovo izručenje, javite nam. Prijavu čitaju samo provereni saradnici. Dobićete kod potvrde.',
    person: 'Ko je pogođen', name: 'Puno ime (kako ga znate)', dob: 'Datum rođenja (ako je poznat)', citizenship: 'Državljanstvo',
    event: 'Šta se dogodilo', type: 'Vrsta događaja', country: 'Država', city: 'Grad', when: 'Kada', description: 'Opišite šta se dogodilo',
    reporter: 'Kako da vas kontaktiramo', reporterName: 'Vaše ime (nije obavezno)', contact: 'Telefon, Signal, Telegram ili e-pošta',
    consent: 'Slažem se da organizacija čuva i koristi ovu prijavu radi pružanja pomoći.', send: 'Pošalji',
    working: 'Slanje… ovo može potrajati nekoliko sekundi.', sent: 'Poslato. Vaš kod potvrde:',
    retry: 'Bezbednosna provera nije uspela. Vaš tekst je sačuvan: ponovo pritisnite „Pošalji“.',
    throttled: 'Previše prijava sa ove veze. Pokušajte kasnije.', invalid: 'Proverite označena polja.',
    failed: 'Slanje nije uspelo. Vaš tekst je sačuvan: pokušajte ponovo.',
    types: ['Pritvor', 'Zahtev za izručenje', 'Deportacija ili proterivanje', 'Otmica', 'Pretnja ili praćenje', 'Drugo'],
  },
  tr: {
    title: 'Gözaltı veya tehdit bildirin',
    intro: 'Biri gözaltına alındıysa, tehdit ediliyorsa veya iadesi isteniyorsa bize bildirin. Bildirimi yalnızca doğrulanmış çalışanlarımız okur. Bir makbuz kodu alacaksınız.',
    person: 'Kim etkilendi', name: 'Tam adı (bildiğiniz şekilde)', dob: 'Doğum tarihi (biliniyorsa)', citizenship: 'Vatandaşlık',
    event: 'Ne oldu', type: 'Olayın türü', country: 'Ülke', city: 'Şehir', when: 'Ne zaman', description: 'Ne olduğunu anlatın',
    reporter: 'Size nasıl ulaşabiliriz', reporterName: 'Adınız (isteğe bağlı)', contact: 'Telefon, Signal, Telegram veya e-posta',
    consent: 'Kuruluşun bu bildirimi yardım amacıyla saklamasını ve kullanmasını kabul ediyorum.', send: 'Gönder',
    working: 'Gönderiliyor… bu birkaç saniye sürebilir.', sent: 'Gönderildi. Makbuz kodunuz:',
    retry: 'Güvenlik kontrolü başarısız oldu. Metniniz korundu: tekrar “Gönder”e basın.',
    throttled: 'Bu bağlantıdan çok fazla bildirim geldi. Lütfen daha sonra tekrar deneyin.', invalid: 'İşaretli alanları kontrol edin.',
    failed: 'Gönderilemedi. Metniniz korundu: tekrar deneyin.',
    types: ['Gözaltı', 'İade talebi', 'Sınır dışı etme', 'Kaçırma', 'Tehdit veya takip', 'Diğer'],
  },
};
